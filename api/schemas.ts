/**
 * JSON schemas shared by the shop and admin routes. Request schemas do not set
 * `additionalProperties: false`: unknown fields are ignored (as on the topics), so clients can evolve
 * ahead of the server. Responses list their properties, and fastify's serializer drops anything else.
 */
import { errorBodySchema } from './errors.ts'

export { errorBodySchema }

/** Ids and money are positive (or non-negative) integers that JSON and JavaScript carry exactly. */
export const idSchema = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const
export const amountSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const
const dateTime = { type: 'string', format: 'date-time' } as const
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const

export const userIdParams = {
  type: 'object',
  required: ['userId'],
  properties: { userId: idSchema },
} as const

export const couponIdParams = {
  type: 'object',
  required: ['couponId'],
  properties: { couponId: idSchema },
} as const

export const userSchema = {
  type: 'object',
  required: ['userId', 'name', 'points'],
  properties: { userId: idSchema, name: { type: 'string' }, points: amountSchema },
} as const

export const discountTypeSchema = { type: 'string', enum: ['RATE', 'AMOUNT'] } as const

const couponProperties = {
  couponId: idSchema,
  name: { type: 'string' },
  discountType: discountTypeSchema,
  discountValue: { type: 'integer' },
  totalQuantity: { type: 'integer' },
  issuedQuantity: { type: 'integer' },
  remainingQuantity: { type: 'integer' },
  expiresAt: nullableDateTime,
} as const

/** A coupon as the shop sees it. */
export const couponSchema = {
  type: 'object',
  required: Object.keys(couponProperties),
  properties: couponProperties,
} as const

/** A coupon as the admin who created it sees it: the shop's view and its minimum order amount. */
export const adminCouponSchema = {
  type: 'object',
  required: [...Object.keys(couponProperties), 'minOrderAmount'],
  properties: { ...couponProperties, minOrderAmount: { type: ['integer', 'null'] } },
} as const

export const userCouponSchema = {
  type: 'object',
  required: [
    'userCouponId',
    'couponId',
    'name',
    'discountType',
    'discountValue',
    'used',
    'issuedAt',
    'usedAt',
  ],
  properties: {
    userCouponId: idSchema,
    couponId: idSchema,
    name: { type: 'string' },
    discountType: discountTypeSchema,
    discountValue: { type: 'integer' },
    used: { type: 'boolean' },
    issuedAt: dateTime,
    usedAt: nullableDateTime,
  },
} as const

/** Error responses, keyed by status, with the codes each may carry in its description. */
export const errorResponses = (statuses: Record<number, string>) =>
  Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [status, { ...errorBodySchema, description }]),
  )
