/**
 * The order saga: one task per partition of `order-created-topic` and of the saga's replies (both keyed
 * by orderId), so one task owns each order's progress. It asks the owners in the seed's order, as one
 * chain that answers once — (1) reserve every product's stock, one stock owner after another (one hop
 * per stock partition, see stock-lines.ts), whose last (2) asks the user's owner to deduct the points
 * and (3) use the coupon — and continues on the answer; then (5) completes the order (the ranking,
 * step 4, follows from the COMPLETED status event: a projector applies it to Redis once per order). A
 * business failure marks the order FAILED with its reason and gives back what the steps took, newest
 * first: points, then stock. Nothing here locks: each counter is changed by its owner's partition alone.
 *
 * Every order ends with exactly one status event. Redelivery changes nothing: a known order's creation
 * is ignored, as is a reply the order no longer awaits (counted in the `saga-ignored` store).
 */
import type { KeyValueStore } from '../topology/api.ts'
import { process, type StreamContext, type StreamProcessor } from '../topology/dsl/index.ts'
import type { StreamRecord } from '../topology/record.ts'
import { isoAt } from './fields.ts'
import {
  type OrderCreatedInput,
  type ReserveChain,
  SagaIds,
  type SagaInput,
  type SagaReply,
  type SinkSpec,
  type StockAnswerLine,
  type StockCommand,
  type UserCommand,
} from './order-commands.ts'
import type { OrderFailureReason, OrderStatusEvent, PointRestore, StockRestore } from './order-messages.ts'
import { readProducts, writeOrders } from './saga-rows.ts'
import { groupByPartition, sumLines } from './stock-lines.ts'

export const SagaStores = { SAGAS: 'order-sagas', IGNORED: 'saga-ignored' } as const
export const SagaLookups = { PRODUCTS: 'order-products' } as const
export const SagaTables = { ORDERS: 'saga-orders' } as const
export const SagaSinks = {
  STOCK_COMMANDS: 'to-stock-commands',
  USER_COMMANDS: 'to-user-commands',
  STATUS: 'to-order-status',
  STOCK_RESTORES: 'to-stock-restores',
  POINT_RESTORES: 'to-point-restores',
} as const

/**
 * Where the saga stands, in its `order-sagas` store. `orders.saga_step` is RECEIVED (the API's) until
 * the order ends, then DONE.
 */
export type SagaStep = 'STOCK' | 'POINTS' | 'COUPON' | 'DONE'

/** What a product's owner answered for its line of a reserve command. */
export type StockAnswer =
  | { state: 'RESERVED'; quantity: number }
  | { state: 'SHORT'; reason: 'INSUFFICIENT_STOCK' | 'PRODUCT_NOT_FOUND' | 'NOT_OWNED' | 'NOT_ASKED' }

/** An order's saga, in the `order-sagas` store (keyed by orderId). */
export interface SagaState {
  userId: number
  userCouponId: number | null
  finalAmount: number
  /** One line per product, its quantities summed, in the order the products first appear. */
  lines: ReadonlyArray<{ productId: number; quantity: number }>
  step: SagaStep
  /** The stock owners' answers so far, by productId. */
  stock: Readonly<Record<string, StockAnswer>>
  pointsDeducted: boolean
  status: 'PENDING' | 'COMPLETED' | 'FAILED'
  reason?: OrderFailureReason
}

/** A product as an order keeps it: its name and price when the order was created. */
export interface OrderedProduct {
  name: string
  price: number
}

/** Why a record changed nothing: the keys of the `saga-ignored` counters. */
export const IgnoredReasons = {
  DUPLICATE_ORDER: 'duplicate-order',
  UNKNOWN_ORDER: 'unknown-order',
  NOT_AWAITED: 'not-awaited',
} as const
type IgnoredReason = (typeof IgnoredReasons)[keyof typeof IgnoredReasons]

type Ctx = StreamContext<never>

export class OrderSaga implements StreamProcessor<SagaInput, never> {
  process(record: StreamRecord<SagaInput>, ctx: Ctx): void {
    const input = record.value
    if (input.kind === 'order-created') this.#start(input, record.timestamp, ctx)
    else this.#continue(input, ctx)
  }

  #start(order: OrderCreatedInput, timestamp: number, ctx: Ctx): void {
    const sagas = ctx.store<KeyValueStore<SagaState>>(SagaStores.SAGAS)
    const { orderId, userId } = order
    if (sagas.has(String(orderId))) {
      this.#ignore(IgnoredReasons.DUPLICATE_ORDER, ctx)
      return
    }
    const lines = sumLines(order.cartItems)
    const userCouponId = order.userCouponId ?? null
    // An order our API created has its row already (then this insert does nothing); one another
    // service produced straight to the topic gets its row here, priced from the products now.
    const products = ctx.lookup<OrderedProduct>(SagaLookups.PRODUCTS)
    const items = lines.flatMap(({ productId, quantity }) => {
      const product = products.get(String(productId))
      // An unknown product has no name or price to keep; the order fails PRODUCT_NOT_FOUND.
      return product ? [{ productId, quantity, name: product.name, price: product.price }] : []
    })
    const totalAmount = items.reduce((sum, i) => sum + i.price * i.quantity, 0)
    ctx.write(SagaTables.ORDERS, {
      op: 'create',
      orderId,
      userId,
      userCouponId,
      totalAmount,
      discountAmount: Math.max(0, totalAmount - order.finalAmount),
      finalAmount: order.finalAmount,
      createdAt: order.createdAt ?? isoAt(timestamp),
      items,
    })
    const state: SagaState = {
      userId,
      userCouponId,
      finalAmount: order.finalAmount,
      lines,
      step: 'STOCK',
      stock: {},
      pointsDeducted: false,
      status: 'PENDING',
    }
    // A product the shop does not have fails the order before anything is taken (the seed checks the
    // products exist before any step): a product's owner could only answer it PRODUCT_NOT_FOUND.
    if (items.length < lines.length) {
      this.#fail(orderId, state, 'PRODUCT_NOT_FOUND', ctx)
      return
    }
    this.#save(orderId, state, ctx)
    // The lines grouped by the partition of the stock commands that owns them (per product when the
    // topic's partition count is unknown), sent as one chain: the first group's owner reserves its
    // lines and sends the order on to the next, the last one to the user's owner as the payment. The
    // saga hears back once: the payment's answer, or a stock owner's when a line was short.
    const partitionOf = (productId: number) => ctx.partitionFor(SagaSinks.STOCK_COMMANDS, String(productId))
    const [group, ...rest] = groupByPartition(lines, partitionOf)
    const first = group![0]!.productId
    const command: StockCommand = {
      kind: 'reserve',
      orderId,
      lines: group!,
      chain: {
        next: rest.map((lines) => ({ lines })),
        reserved: [],
        payment: paymentOf(state),
      },
    }
    ctx.emit(SagaSinks.STOCK_COMMANDS, {
      key: String(first),
      value: command,
      id: SagaIds.reserve(orderId, first),
    })
  }

  #continue(reply: SagaReply, ctx: Ctx): void {
    const { orderId } = reply
    const stored = ctx.store<KeyValueStore<SagaState>>(SagaStores.SAGAS).get(String(orderId))
    if (!stored || !awaits(stored, reply)) {
      this.#ignore(stored ? IgnoredReasons.NOT_AWAITED : IgnoredReasons.UNKNOWN_ORDER, ctx)
      return
    }
    // The payment's answer while the stock step is open: the order's chain reached the user's owner,
    // which it does only after every line was reserved, each as the order asked.
    const state: SagaState =
      reply.kind !== 'stock-answered' && stored.step === 'STOCK'
        ? { ...stored, step: 'POINTS', stock: allReserved(stored) }
        : stored
    if (reply.kind === 'stock-answered') {
      // Each line keeps its first answer: a reply for lines already answered changes nothing.
      const stock = { ...state.stock }
      for (const { productId, ...answer } of reply.answers.filter((a) => awaitsLine(state, a)))
        stock[productId] = answer
      this.#afterStock(orderId, { ...state, stock }, ctx)
    } else if (reply.kind === 'points-short') this.#fail(orderId, state, 'INSUFFICIENT_POINTS', ctx)
    else if (reply.kind === 'user-not-found') this.#fail(orderId, state, 'USER_NOT_FOUND', ctx)
    else if (reply.kind === 'points-deducted')
      this.#afterPoints(orderId, { ...state, pointsDeducted: true }, ctx)
    // A coupon's answer comes after its order's payment (in the payment's reply, or its own).
    else if (reply.kind === 'coupon-used') this.#complete(orderId, { ...state, pointsDeducted: true }, ctx)
    else this.#fail(orderId, { ...state, pointsDeducted: true }, 'COUPON_NOT_USABLE', ctx)
  }

  /**
   * Paid, and no coupon answered with the payment: use the coupon, if the order has one; else complete.
   * (The payment command names the coupon, so its owner answers both at once; a separate `use-coupon`
   * remains for a payment answered without it.)
   */
  #afterPoints(orderId: number, state: SagaState, ctx: Ctx): void {
    const { userId, userCouponId } = state
    if (userCouponId === null) {
      this.#complete(orderId, state, ctx)
      return
    }
    const command: UserCommand = { kind: 'use-coupon', orderId, userId, userCouponId }
    ctx.emit(SagaSinks.USER_COMMANDS, { key: String(userId), value: command, id: SagaIds.useCoupon(orderId) })
    this.#save(orderId, { ...state, step: 'COUPON' }, ctx)
  }

  /**
   * Every product answered: all reserved → deduct the points; any short → give back the rest and fail.
   * A line its owner could not reach (NOT_OWNED: nothing was taken) fails the order as short of stock.
   */
  #afterStock(orderId: number, state: SagaState, ctx: Ctx): void {
    const answers = state.lines.map((l) => state.stock[l.productId])
    if (answers.some((a) => a === undefined)) {
      // Still at the stock step: the order's row says so already, only the answers so far are kept.
      ctx.store<KeyValueStore<SagaState>>(SagaStores.SAGAS).put(String(orderId), state)
      return
    }
    // A line reserved with another quantity than the order's was not reserved by this order's saga
    // (a reservation of its id that another producer's command made first): the order cannot count it
    // as its own, so it fails, and #fail gives back what that reservation really took.
    const short = answers.filter((a, i) => a?.state === 'SHORT' || a?.quantity !== state.lines[i]!.quantity)
    if (short.length > 0) {
      // A missing product is the more fundamental fault (the seed checks products exist first).
      const missing = short.some((a) => a?.state === 'SHORT' && a.reason === 'PRODUCT_NOT_FOUND')
      this.#fail(orderId, state, missing ? 'PRODUCT_NOT_FOUND' : 'INSUFFICIENT_STOCK', ctx)
      return
    }
    // Steps (2) and (3) have one owner, the user's partition: one command asks for both, in order.
    const command: UserCommand = { kind: 'deduct-points', orderId, ...paymentOf(state) }
    ctx.emit(SagaSinks.USER_COMMANDS, {
      key: String(state.userId),
      value: command,
      id: SagaIds.deductPoints(orderId),
    })
    this.#save(orderId, { ...state, step: 'POINTS' }, ctx)
  }

  #complete(orderId: number, state: SagaState, ctx: Ctx): void {
    const completedAt = isoAt(ctx.now())
    this.#end(orderId, { ...state, step: 'DONE', status: 'COMPLETED' }, ctx, {
      orderId,
      userId: state.userId,
      status: 'COMPLETED',
      completedAt,
    })
  }

  /**
   * Marks the order FAILED and gives back what its steps took, newest first. The coupon is the last
   * step and nothing after it can fail, so a coupon is never among them.
   */
  #fail(orderId: number, state: SagaState, reason: OrderFailureReason, ctx: Ctx): void {
    if (state.pointsDeducted) {
      const eventId = SagaIds.pointRestore(orderId)
      const event: PointRestore = { eventId, orderId, userId: state.userId, amount: state.finalAmount }
      ctx.emit(SagaSinks.POINT_RESTORES, { key: String(state.userId), value: event, id: eventId })
    }
    for (const { productId } of state.lines) {
      const answer = state.stock[productId]
      if (answer?.state !== 'RESERVED') continue
      const eventId = SagaIds.stockRestore(orderId, productId)
      const event: StockRestore = { eventId, orderId, productId, quantity: answer.quantity }
      ctx.emit(SagaSinks.STOCK_RESTORES, { key: String(productId), value: event, id: eventId })
    }
    const failedAt = isoAt(ctx.now())
    this.#end(orderId, { ...state, step: 'DONE', status: 'FAILED', reason }, ctx, {
      orderId,
      userId: state.userId,
      status: 'FAILED',
      reason,
      failedAt,
    })
  }

  /** The order's one status event, with an id of its own: a consumer keeps exactly one per order. */
  #end(orderId: number, state: SagaState, ctx: Ctx, event: OrderStatusEvent): void {
    this.#save(orderId, state, ctx, event)
    ctx.emit(SagaSinks.STATUS, { key: String(orderId), value: event, id: SagaIds.status(orderId) })
  }

  #save(orderId: number, state: SagaState, ctx: Ctx, ended?: OrderStatusEvent): void {
    ctx.store<KeyValueStore<SagaState>>(SagaStores.SAGAS).put(String(orderId), state)
    // The order row changes once, when the order ends: its steps live in the saga's store (committed
    // with it). Mirroring each step into `orders` cost an UPDATE per step per order that nothing read.
    if (!ended) return
    ctx.write(SagaTables.ORDERS, {
      op: 'progress',
      orderId,
      step: state.step,
      status: state.status,
      reason: state.reason ?? null,
      completedAt: ended?.status === 'COMPLETED' ? ended.completedAt : null,
      failedAt: ended?.status === 'FAILED' ? ended.failedAt : null,
    })
  }

  #ignore(reason: IgnoredReason, ctx: Ctx): void {
    const counters = ctx.store<KeyValueStore<number>>(SagaStores.IGNORED)
    counters.put(reason, (counters.get(reason) ?? 0) + 1)
  }
}

/**
 * Whether the order waits for this reply now: one of its step's, and for stock, for a line yet to
 * answer. The payment's answer is awaited at the stock step too, whatever stock answers came before
 * (another producer's reserve for the order may have had one answered): the chain sends the payment
 * itself, only once every line was reserved as the order asked.
 */
function awaits(state: SagaState, reply: SagaReply): boolean {
  const paying = state.step === 'POINTS' || state.step === 'STOCK'
  switch (reply.kind) {
    case 'stock-answered':
      return state.step === 'STOCK' && reply.answers.some((a) => awaitsLine(state, a))
    case 'points-deducted':
    case 'points-short':
    case 'user-not-found':
      return paying
    default:
      // The coupon's answer: in the payment's reply, or to a use-coupon of its own.
      return state.step === 'COUPON' || (paying && state.userCouponId !== null)
  }
}

/** What steps (2) and (3) ask of the user's owner: the points to deduct, and the coupon if any. */
const paymentOf = ({ userId, finalAmount, userCouponId }: SagaState): ReserveChain['payment'] => ({
  userId,
  amount: finalAmount,
  ...(userCouponId === null ? {} : { userCouponId }),
})

/** Every line reserved, as the order asked: what the chain's reaching the payment means. */
const allReserved = (state: SagaState): Record<string, StockAnswer> =>
  Object.fromEntries(state.lines.map((l) => [l.productId, { state: 'RESERVED', quantity: l.quantity }]))

/** Whether the stock step waits for this line's answer: a line of the order, not answered yet. */
const awaitsLine = (state: SagaState, answer: StockAnswerLine): boolean =>
  state.lines.some((l) => l.productId === answer.productId) && state.stock[answer.productId] === undefined

export interface SagaSinkSpecs {
  readonly stockCommands: SinkSpec
  readonly userCommands: SinkSpec
  readonly status: SinkSpec
  readonly stockRestores: SinkSpec
  readonly pointRestores: SinkSpec
}

/** The saga's step, with everything it reads and writes: pipe the merged orders and replies into it. */
export function orderSaga(sinks: SagaSinkSpecs) {
  return process<SagaInput, never>(() => new OrderSaga(), {
    name: 'run-order-sagas',
    stores: {
      [SagaStores.SAGAS]: { loading: 'keyed', keys: (input) => String(input.orderId) },
      // A handful of counters per partition: loaded whole.
      [SagaStores.IGNORED]: {},
    },
    lookups: {
      [SagaLookups.PRODUCTS]: (input) =>
        input.kind === 'order-created' ? input.cartItems.map((l) => String(l.productId)) : undefined,
    },
    tables: [SagaTables.ORDERS],
    readers: { [SagaLookups.PRODUCTS]: readProducts },
    writers: { [SagaTables.ORDERS]: writeOrders },
    sinks: {
      [SagaSinks.STOCK_COMMANDS]: sinks.stockCommands,
      [SagaSinks.USER_COMMANDS]: sinks.userCommands,
      [SagaSinks.STATUS]: sinks.status,
      [SagaSinks.STOCK_RESTORES]: sinks.stockRestores,
      [SagaSinks.POINT_RESTORES]: sinks.pointRestores,
    },
  })
}
