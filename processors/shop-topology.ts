/** The shop's topology, in the DSL: which streams run through which operators, to which topics. */
import { merge, process, StreamsBuilder, to } from '../topology/dsl/index.ts'
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
import {
  parseCouponRestoreInput,
  parseOrderCreatedInput,
  parsePointRestoreInput,
  parseSagaReply,
  parseStockCommand,
  parseStockRestoreInput,
  parseUserCommand,
} from './order-commands.ts'
import { orderSaga } from './order-saga.ts'
import { ShopHeaders } from './shop-headers.ts'
import { stockOwner } from './stock-owner.ts'
import { InternalTopics, type TopicNames, topicNames } from './topics.ts'
import { userOwner } from './user-owner.ts'

export function shopTopology(applicationId: string, topics: TopicNames = topicNames()) {
  const builder = new StreamsBuilder(applicationId, { outputIdHeader: ShopHeaders.OUTPUT_ID })
  builder
    // Requests are keyed by coupon: one task sees every request for a coupon, in order.
    .stream('issue-requests', {
      topic: topics.COUPON_ISSUE,
      parse: parseCouponIssueRequest,
      // Another partition's counters must never decide a coupon: a request a producer put elsewhere
      // (another partitioner, an explicit partition) goes to the DLQ as WRONG_PARTITION.
      keyOwned: true,
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
  addOrderSaga(builder, topics)
  return builder.build()
}

/**
 * The order saga (docs/architecture.md, "The order saga"): three processors that talk through the
 * topology's own topics. Each counter has one owner, the partition of its key; the saga asks the
 * owners and continues on their replies. Every owner also reads the restore topic(s) of its keys,
 * which the saga's compensation (or any other producer) writes.
 */
function addOrderSaga(builder: StreamsBuilder, topics: TopicNames): void {
  const internal = (topic: string) => ({ topic, internal: true })
  // No de-duplication by output id on what the saga's processors read: each is idempotent by itself
  // (an owner answers a command it has seen with its first answer and takes nothing twice; a restore
  // applies once per eventId; the saga ignores a reply its order no longer awaits), so the library's
  // copy check would only repeat it — at a digest per record, a window in memory and its row per batch
  // (with a row per id it was the largest share of the saga's commit work after its own state).
  const idempotent = { deduplicate: false } as const
  // The contract's topics, which other services write: a record a producer put on another partition
  // than its key's (another partitioner, an explicit partition) goes to the DLQ as WRONG_PARTITION
  // instead of giving the key a second owner (a saga its replies never reach, a second stock counter).
  const keyOwned = { keyOwned: true } as const
  const replies = internal(InternalTopics.SAGA_REPLIES)

  // Keyed by product: one task sees every change of a product's stock.
  const stockCommands = builder.stream('stock-commands', {
    ...internal(InternalTopics.STOCK_COMMANDS),
    ...idempotent,
    parse: parseStockCommand,
    processor: 'stock-owner',
  })
  const stockRestores = builder.stream('stock-restores', {
    ...keyOwned,
    topic: topics.STOCK_RESTORE,
    ...idempotent,
    parse: parseStockRestoreInput,
  })
  stockCommands.pipe(
    merge(stockRestores),
    stockOwner(replies, internal(InternalTopics.STOCK_COMMANDS), internal(InternalTopics.USER_COMMANDS)),
  )

  // Keyed by user: one task sees every change of a user's points and coupons.
  const userCommands = builder.stream('user-commands', {
    ...internal(InternalTopics.USER_COMMANDS),
    ...idempotent,
    parse: parseUserCommand,
    processor: 'user-owner',
  })
  const pointRestores = builder.stream('point-restores', {
    ...keyOwned,
    topic: topics.POINT_RESTORE,
    ...idempotent,
    parse: parsePointRestoreInput,
  })
  const couponRestores = builder.stream('coupon-restores', {
    ...keyOwned,
    topic: topics.COUPON_RESTORE,
    parse: parseCouponRestoreInput,
  })
  userCommands.pipe(merge(pointRestores, couponRestores), userOwner(replies))

  // Keyed by order: one task owns each order's progress.
  const orders = builder.stream('orders', {
    ...keyOwned,
    topic: topics.ORDER_CREATED,
    parse: parseOrderCreatedInput,
    processor: 'order-saga',
  })
  const sagaReplies = builder.stream('saga-replies', { ...replies, ...idempotent, parse: parseSagaReply })
  orders.pipe(
    merge(sagaReplies),
    orderSaga({
      stockCommands: internal(InternalTopics.STOCK_COMMANDS),
      userCommands: internal(InternalTopics.USER_COMMANDS),
      status: { topic: topics.ORDER_STATUS },
      stockRestores: { topic: topics.STOCK_RESTORE },
      pointRestores: { topic: topics.POINT_RESTORE },
    }),
  )
}
