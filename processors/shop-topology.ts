/** The shop's topology: which processors read which topics, with which stores, lookups and tables. */
import { TopologyBuilder } from '../topology/builder.ts'
import {
  COUPON_RESULTS_SINK,
  CouponIssuer,
  CouponLookups,
  CouponStores,
  CouponTables,
  holderKey,
} from './coupon-issuer.ts'
import { type CouponIssueRequest, parseCouponIssueRequest } from './coupon-request.ts'
import { type TopicNames, topicNames } from './topics.ts'

export function shopTopology(applicationId: string, topics: TopicNames = topicNames()) {
  return new TopologyBuilder(applicationId)
    .source('issue-requests', { topic: topics.COUPON_ISSUE, parse: parseCouponIssueRequest })
    .store(CouponStores.ISSUED)
    .store<CouponIssueRequest>(CouponStores.HOLDERS, {
      // One entry per (coupon, user) ever issued: grows with history, so loaded by the keys a batch needs.
      loading: 'keyed',
      keys: (request) => holderKey(request.couponId, request.userId),
      // A flash sale asks about the same (coupon, user) pairs again and again, mostly to hear "not a
      // holder": keeping 100k of them (a few MB, absent ones included) saves most of the loads.
      maxCachedEntries: 100_000,
    })
    .lookup(CouponLookups.COUPONS)
    .lookup(CouponLookups.USERS)
    .table(CouponTables.USER_COUPONS)
    .table(CouponTables.ISSUED)
    .table(CouponTables.REQUESTS)
    .sink(COUPON_RESULTS_SINK, { topic: topics.COUPON_ISSUE_RESULT })
    .processor<CouponIssueRequest>('coupon-issuer', {
      sources: ['issue-requests'],
      stores: [CouponStores.ISSUED, CouponStores.HOLDERS],
      lookups: {
        [CouponLookups.COUPONS]: (request) => String(request.couponId),
        [CouponLookups.USERS]: (request) => String(request.userId),
      },
      tables: [CouponTables.USER_COUPONS, CouponTables.ISSUED, CouponTables.REQUESTS],
      sinks: [COUPON_RESULTS_SINK],
      supplier: () => new CouponIssuer(),
    })
    .build()
}
