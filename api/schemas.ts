/**
 * Schemas shared by the shop and admin routes, declared once with TypeBox: fastify validates requests
 * and serializes responses with them, @fastify/swagger publishes them at /docs, and the type provider
 * types each handler's request and reply from them. Request schemas do not set
 * `additionalProperties: false`: unknown fields are ignored (as on the topics), so clients can evolve
 * ahead of the server. Responses list their properties, and fastify's serializer drops anything else.
 */
import { type TSchema, Type } from 'typebox'
import { Amount, EntityId } from '../processors/fields.ts'
import { Quantity } from '../processors/order-messages.ts'
import { DiscountTypes } from '../state/coupons.ts'
import { ErrorBody } from './errors.ts'

/** Units of one product in a cart or an order line: the bound the order-created record admits. */
export { Amount, EntityId, ErrorBody, Quantity }

/**
 * An instant in a response. The handlers hand fastify the `Date` the repository read, and its
 * serializer writes it as an ISO-8601 string, so the handler's type admits both.
 */
export const Timestamp = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }))

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const UserIdParams = Type.Object({ userId: EntityId })
export const CouponIdParams = Type.Object({ couponId: EntityId })
export const ProductIdParams = Type.Object({ productId: EntityId })
export const OrderIdParams = Type.Object({ orderId: EntityId })

export const User = Type.Object({ userId: EntityId, name: Type.String(), points: Amount })

export const DiscountType = Type.Enum(DiscountTypes, { type: 'string' })

const couponProperties = {
  couponId: EntityId,
  name: Type.String(),
  discountType: DiscountType,
  discountValue: Type.Integer(),
  totalQuantity: Type.Integer(),
  issuedQuantity: Type.Integer(),
  remainingQuantity: Type.Integer(),
  expiresAt: Nullable(Timestamp),
}

/** A coupon as the shop sees it. */
export const Coupon = Type.Object(couponProperties)

/** A coupon as the admin who created it sees it: the shop's view and its minimum order amount. */
export const AdminCoupon = Type.Object({ ...couponProperties, minOrderAmount: Nullable(Type.Integer()) })

export const UserCoupon = Type.Object({
  userCouponId: EntityId,
  couponId: EntityId,
  name: Type.String(),
  discountType: DiscountType,
  discountValue: Type.Integer(),
  used: Type.Boolean(),
  issuedAt: Timestamp,
  usedAt: Nullable(Timestamp),
})

export const Product = Type.Object({
  productId: EntityId,
  name: Type.String(),
  description: Nullable(Type.String()),
  price: Amount,
  stock: Type.Integer({ minimum: 0 }),
})

/** Error responses, keyed by status, with the codes each may carry in its description. */
export const errorResponses = <const S extends Record<number, string>>(statuses: S) =>
  Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [
      status,
      Type.Object(ErrorBody.properties, { description }),
    ]),
  ) as { [K in keyof S]: typeof ErrorBody }
