/**
 * The order saga's records on the contract's topics (CONTRACT.md section 1): one schema per message,
 * giving the parser, the TypeScript type and the documentation. Unknown fields are ignored.
 */
import { type Static, type StaticDecode, Type } from 'typebox'
import { RecordError } from '../topology/errors.ts'
import { jsonSchemaValue } from '../topology/schema.ts'
import { Amount, EntityId, IsoInstant } from './fields.ts'

/** A restore event's id: any producer may write one, so only its length is bounded. */
export const EventId = Type.String({ minLength: 1, maxLength: 200 })

/** Quantities of one line: at least one, and few enough that a sum over many orders stays exact. */
export const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000 })

export const OrderLine = Type.Object({ productId: EntityId, quantity: Quantity })
export type OrderLine = Static<typeof OrderLine>

/** `order-created-topic`, keyed by orderId: from our API (through the outbox) or another service. */
export const OrderCreated = Type.Object({
  orderId: EntityId,
  userId: EntityId,
  /** null or absent: no coupon. */
  userCouponId: Type.Optional(Type.Union([EntityId, Type.Null()])),
  finalAmount: Amount,
  cartItems: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
  createdAt: Type.Optional(IsoInstant),
})
export type OrderCreated = StaticDecode<typeof OrderCreated>

export const OrderFailureReasons = {
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  INSUFFICIENT_POINTS: 'INSUFFICIENT_POINTS',
  COUPON_NOT_USABLE: 'COUPON_NOT_USABLE',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  PRODUCT_NOT_FOUND: 'PRODUCT_NOT_FOUND',
} as const
export const OrderFailureReason = Type.Enum(OrderFailureReasons, { type: 'string' })
export type OrderFailureReason = Static<typeof OrderFailureReason>

/** `order-status-topic`, keyed by orderId: exactly one per order, when it ends. */
export const OrderStatusEvent = Type.Union([
  Type.Object({
    orderId: EntityId,
    userId: EntityId,
    status: Type.Literal('COMPLETED'),
    completedAt: Type.String(),
  }),
  Type.Object({
    orderId: EntityId,
    userId: EntityId,
    status: Type.Literal('FAILED'),
    reason: OrderFailureReason,
    failedAt: Type.String(),
  }),
])
export type OrderStatusEvent = Static<typeof OrderStatusEvent>

/** `stock-restore-topic`, keyed by productId: one per product of a failed order that had reserved it. */
export const StockRestore = Type.Object({
  eventId: EventId,
  orderId: EntityId,
  productId: EntityId,
  quantity: Quantity,
})
export type StockRestore = Static<typeof StockRestore>

/** `point-restore-topic`, keyed by userId. */
export const PointRestore = Type.Object({
  eventId: EventId,
  orderId: EntityId,
  userId: EntityId,
  amount: Amount,
})
export type PointRestore = Static<typeof PointRestore>

/** `coupon-restore-topic`, keyed by userId. */
export const CouponRestore = Type.Object({
  eventId: EventId,
  orderId: EntityId,
  userId: EntityId,
  userCouponId: EntityId,
})
export type CouponRestore = Static<typeof CouponRestore>

/**
 * A parser for a record that must be keyed by one of its fields (or by a value `keyOf` reads, named
 * `name`): a mis-keyed record would land on a partition that does not own what it names, so it goes
 * to the DLQ instead (KEY_MISMATCH).
 */
export function keyedBy<T extends Type.TSchema>(
  schema: T,
  field: string | ((value: StaticDecode<T>) => number),
  name = typeof field === 'string' ? field : 'key field',
) {
  const parse = jsonSchemaValue(schema)
  const keyOf =
    typeof field === 'string' ? (v: StaticDecode<T>) => (v as Record<string, unknown>)[field] : field
  return (value: Buffer | null, key: string | null): StaticDecode<T> => {
    const parsed = parse(value, key)
    const expected = keyOf(parsed)
    if (key !== String(expected))
      throw new RecordError('KEY_MISMATCH', `key: "${key}" must be the ${name} "${expected}"`)
    return parsed
  }
}

export const parseOrderCreated = keyedBy(OrderCreated, 'orderId')
export const parseStockRestore = keyedBy(StockRestore, 'productId')
export const parsePointRestore = keyedBy(PointRestore, 'userId')
export const parseCouponRestore = keyedBy(CouponRestore, 'userId')
