/** The shop's topology, in the DSL: which streams run through which operators, to which topics. */
import { process, StreamsBuilder, to } from '../topology/dsl/index.ts'
import {
  COUPON_RESULTS_SINK,
  CouponIssuer,
  CouponLookups,
  CouponStores,
  CouponTables,
  couponLookups,
  couponTables,
  holderKey,
} from './coupon-issuer.ts'
import { parseCouponIssueRequest } from './coupon-request.ts'
import { ShopHeaders } from './shop-headers.ts'
import { type TopicNames, topicNames } from './topics.ts'

export function shopTopology(applicationId: string, topics: TopicNames = topicNames()) {
  const builder = new StreamsBuilder(applicationId, { outputIdHeader: ShopHeaders.OUTPUT_ID })
  builder
    // Requests are keyed by coupon: one task sees every request for a coupon, in order.
    .stream('issue-requests', {
      topic: topics.COUPON_ISSUE,
      parse: parseCouponIssueRequest,
      // Task names and stored offsets carry the processor's name: it stays what it has always been.
      processor: 'coupon-issuer',
    })
    .pipe(
      process(() => new CouponIssuer(), {
        name: 'issue-coupons',
        stores: {
          [CouponStores.ISSUED]: {},
          [CouponStores.HOLDERS]: {
            // One entry per (coupon, user) ever issued: grows with history, so loaded by the keys a batch needs.
            loading: 'keyed',
            keys: (request) => holderKey(request.couponId, request.userId),
            // A flash sale asks about the same (coupon, user) pairs again and again, mostly to hear "not a
            // holder": keeping 100k of them (a few MB, absent ones included) saves most of the loads.
            maxCachedEntries: 100_000,
          },
        },
        lookups: {
          [CouponLookups.COUPONS]: (request) => String(request.couponId),
          [CouponLookups.USERS]: (request) => String(request.userId),
        },
        tables: [CouponTables.USER_COUPONS, CouponTables.ISSUED, CouponTables.REQUESTS],
        // How they are read and written on PostgreSQL: they travel with the processor.
        readers: couponLookups,
        writers: couponTables,
      }),
      to(topics.COUPON_ISSUE_RESULT, { name: COUPON_RESULTS_SINK }),
    )
  return builder.build()
}
