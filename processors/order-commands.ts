/**
 * The order saga's internal records (topics `<applicationId>-stock-commands`, `-user-commands`,
 * `-saga-replies`; see processors/topics.ts InternalTopics): the saga's commands to the owners of
 * stock and of points and coupons, and the owners' replies. Each is keyed by the owner of what it
 * names, so it lands on the one partition that may change it; a mis-keyed record goes to the DLQ
 * (KEY_MISMATCH). Every record carries a `kind`, and the parsers of the contract's records that a
 * processor reads beside them add one too, so a processor reading several topics tells them apart.
 */
import { type Static, Type } from 'typebox'
import { RecordError } from '../topology/errors.ts'
import { Amount, EntityId } from './fields.ts'
import {
  keyedBy,
  type OrderCreated,
  parseCouponRestore,
  parseOrderCreated,
  parsePointRestore,
  parseStockRestore,
} from './order-messages.ts'

/** One product's quantity in one order: its lines summed (at most 100 lines of 1,000,000 each). */
export const ReservedQuantity = Type.Integer({ minimum: 1, maximum: 100_000_000 })

// --- stock-commands, keyed by the first line's productId: to the owner of the lines' stock.

/** At most an order's lines (order-messages.ts caps `cartItems` at 100). */
const MAX_RESERVE_LINES = 100

/** One product of a reserve: `quantity` of it, all or none. */
export const ReserveLine = Type.Object({ productId: EntityId, quantity: ReservedQuantity })
export type ReserveLine = Static<typeof ReserveLine>

const ReserveLines = Type.Array(ReserveLine, { minItems: 1, maxItems: MAX_RESERVE_LINES })

/** One owner's share of an order's stock step: the lines of one partition (`forwarded`: see below). */
export const ReserveGroup = Type.Object({ lines: ReserveLines, forwarded: Type.Optional(Type.Boolean()) })
export type ReserveGroup = Static<typeof ReserveGroup>

/**
 * What a reserve carries on when it is one hop of the order's chain (docs/architecture.md, "The
 * order saga"): the groups still to reserve, one owner after another; the lines the owners before
 * reserved; and the payment the last stock owner asks of the user's owner once every line is reserved.
 */
export const ReserveChain = Type.Object({
  next: Type.Array(ReserveGroup, { maxItems: MAX_RESERVE_LINES }),
  reserved: Type.Array(ReserveLine, { maxItems: MAX_RESERVE_LINES }),
  payment: Type.Object({ userId: EntityId, amount: Amount, userCouponId: Type.Optional(EntityId) }),
})
export type ReserveChain = Static<typeof ReserveChain>

/**
 * Reserve every line for an order, each all or none. The saga groups an order's lines by the partition
 * of this topic that owns them and sends the first group, with the rest as its `chain`: each owner
 * reserves its lines and sends the order on — to the next group's owner, or, after the last, as the
 * payment to the user's owner — or, when a line is short, stops and answers the saga for every line
 * (the ones never asked NOT_ASKED). Without `chain` (a record an earlier version wrote) the owner
 * answers its own lines to the saga, which waits for every group's answer.
 * `forwarded`: sent on by a stock owner that did not own these lines (stock-owner.ts); a forwarded
 * command is never forwarded again.
 */
export const ReserveStock = Type.Object({
  kind: Type.Literal('reserve'),
  orderId: EntityId,
  lines: ReserveLines,
  forwarded: Type.Optional(Type.Boolean()),
  chain: Type.Optional(ReserveChain),
})
export const StockCommand = ReserveStock
export type StockCommand = Static<typeof StockCommand>

// --- user-commands, keyed by userId: to the owner of the user's points and coupons.

/**
 * Deduct `amount` points for an order and, when it names one, then use the user's coupon: the seed's
 * steps (2) and (3) have the same owner, so one command asks for both, in that order. A deducted
 * payment whose coupon cannot be used stays deducted (answered `coupon-unusable`): the saga gives the
 * points back with a restore event, as after a separate coupon step.
 */
export const DeductPoints = Type.Object({
  kind: Type.Literal('deduct-points'),
  orderId: EntityId,
  userId: EntityId,
  amount: Amount,
  userCouponId: Type.Optional(EntityId),
})
export const UseCoupon = Type.Object({
  kind: Type.Literal('use-coupon'),
  orderId: EntityId,
  userId: EntityId,
  userCouponId: EntityId,
})
/** An admin's point charge, as the API writes it (through the outbox) when it answers 202. */
export const ChargePoints = Type.Object({
  kind: Type.Literal('charge'),
  chargeId: Type.String({ minLength: 1, maxLength: 200 }),
  userId: EntityId,
  amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
})
export const UserCommand = Type.Union([DeductPoints, UseCoupon, ChargePoints])
export type UserCommand = Static<typeof UserCommand>

// --- saga-replies, keyed by orderId: an owner's answer to a command, back to the order's partition.

export const StockShortReasons = {
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  PRODUCT_NOT_FOUND: 'PRODUCT_NOT_FOUND',
  /** A forwarded line that still reached a partition not owning its product: nothing was taken. */
  NOT_OWNED: 'NOT_OWNED',
  /** A line of a chain that stopped before its owner was asked (an earlier line was short): nothing taken. */
  NOT_ASKED: 'NOT_ASKED',
} as const
export const CouponUnusableReasons = {
  NOT_FOUND: 'NOT_FOUND',
  NOT_OWNER: 'NOT_OWNER',
  ALREADY_USED: 'ALREADY_USED',
} as const

/** A stock owner's answer to one line of a reserve. */
export const StockAnswerLine = Type.Union([
  Type.Object({ productId: EntityId, state: Type.Literal('RESERVED'), quantity: ReservedQuantity }),
  Type.Object({
    productId: EntityId,
    state: Type.Literal('SHORT'),
    reason: Type.Enum(StockShortReasons, { type: 'string' }),
  }),
])
export type StockAnswerLine = Static<typeof StockAnswerLine>

export const SagaReply = Type.Union([
  Type.Object({
    kind: Type.Literal('stock-answered'),
    orderId: EntityId,
    /** One answer per line of the command answered (of a forwarded command, per line it owned). */
    answers: Type.Array(StockAnswerLine, { minItems: 1, maxItems: MAX_RESERVE_LINES }),
  }),
  Type.Object({ kind: Type.Literal('points-deducted'), orderId: EntityId, userId: EntityId, amount: Amount }),
  Type.Object({ kind: Type.Literal('points-short'), orderId: EntityId, userId: EntityId }),
  Type.Object({ kind: Type.Literal('user-not-found'), orderId: EntityId, userId: EntityId }),
  Type.Object({ kind: Type.Literal('coupon-used'), orderId: EntityId, userCouponId: EntityId }),
  Type.Object({
    kind: Type.Literal('coupon-unusable'),
    orderId: EntityId,
    userCouponId: EntityId,
    reason: Type.Enum(CouponUnusableReasons, { type: 'string' }),
  }),
])
export type SagaReply = Static<typeof SagaReply>

const parseReserve = keyedBy(StockCommand, (c) => c.lines[0]!.productId, "first line's productId")

/**
 * A reserve, keyed by its first line's productId (else KEY_MISMATCH: the key placed it), naming each
 * product once: its owner keeps one reservation per (order, product).
 */
export function parseStockCommand(value: Buffer | null, key: string | null): StockCommand {
  const command = parseReserve(value, key)
  // Across the whole chain too: one reservation per (order, product), and an order has at most 100.
  // Paths are spelled out only for the line refused: this runs on every stock command.
  const { next = [], reserved = [] } = command.chain ?? {}
  const groups: Array<[path: string, lines: readonly ReserveLine[]]> = [['lines', command.lines]]
  for (const [g, group] of next.entries()) groups.push([`chain.next[${g}].lines`, group.lines])
  groups.push(['chain.reserved', reserved])
  const seen = new Set<number>()
  for (const [path, lines] of groups)
    for (let i = 0; i < lines.length; i++) {
      const productId = lines[i]!.productId
      if (seen.has(productId))
        throw new RecordError(
          'VALIDATION_FAILED',
          `${path}[${i}].productId: product ${productId} is named twice`,
        )
      seen.add(productId)
    }
  if (seen.size > MAX_RESERVE_LINES)
    throw new RecordError(
      'VALIDATION_FAILED',
      `chain: ${seen.size} lines in all, at most ${MAX_RESERVE_LINES}`,
    )
  return command
}
export const parseUserCommand = keyedBy(UserCommand, 'userId')
export const parseSagaReply = keyedBy(SagaReply, 'orderId')

// --- The contract's records as the saga's processors read them: with a `kind`, set last so a
// producer's own `kind` field can never pass one record off as another.

type Kinded<T, K extends string> = T & { readonly kind: K }
const withKind =
  <T, K extends string>(parse: (value: Buffer | null, key: string | null) => T, kind: K) =>
  (value: Buffer | null, key: string | null): Kinded<T, K> => ({ ...parse(value, key), kind })

export const parseOrderCreatedInput = withKind(parseOrderCreated, 'order-created')
export const parseStockRestoreInput = withKind(parseStockRestore, 'stock-restore')
export const parsePointRestoreInput = withKind(parsePointRestore, 'point-restore')
export const parseCouponRestoreInput = withKind(parseCouponRestore, 'coupon-restore')

export type OrderCreatedInput = Kinded<OrderCreated, 'order-created'>
export type StockRestoreInput = ReturnType<typeof parseStockRestoreInput>
export type PointRestoreInput = ReturnType<typeof parsePointRestoreInput>
export type CouponRestoreInput = ReturnType<typeof parseCouponRestoreInput>

/** What each processor reads: its commands or replies, and the contract's records merged with them. */
export type StockOwnerInput = StockCommand | StockRestoreInput
export type UserOwnerInput = UserCommand | PointRestoreInput | CouponRestoreInput
export type SagaInput = OrderCreatedInput | SagaReply

/** Where a step's sink writes: a topic, or a short name the library prefixes (`internal`). */
export interface SinkSpec {
  readonly topic: string
  readonly internal?: boolean
}

/** The sink both owners answer the saga through (its `saga-replies` internal topic). */
export const SAGA_REPLIES_SINK = 'to-saga-replies'

/** Deterministic ids: each restore event's `eventId` (and its output id), and the commands' output ids. */
export const SagaIds = {
  stockRestore: (orderId: number, productId: number) => `${orderId}/stock/${productId}`,
  pointRestore: (orderId: number) => `${orderId}/points`,
  couponRestore: (orderId: number) => `${orderId}/coupon`,
  /** A reserve command and its reply, named by the command's first line. */
  reserve: (orderId: number, productId: number) => `${orderId}/reserve/${productId}`,
  /** A reserve a stock owner sent on to the owner of its lines, named by its first line. */
  forwardedReserve: (orderId: number, productId: number) => `${orderId}/reserve/${productId}/forwarded`,
  deductPoints: (orderId: number) => `${orderId}/deduct-points`,
  useCoupon: (orderId: number) => `${orderId}/use-coupon`,
  status: (orderId: number) => `${orderId}/status`,
} as const
