/** Setup route for coupons. Registered behind `requireBearer`. */
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { createCoupon, type DiscountType } from '../../state/coupons.ts'
import type { Database } from '../../state/schema.ts'
import { adminSecurity } from '../auth.ts'
import { adminCouponSchema, amountSchema, discountTypeSchema, errorResponses } from '../schemas.ts'

interface CreateCouponBody {
  name: string
  discountType: DiscountType
  discountValue: number
  totalQuantity: number
  expiresAt?: string | null
  minOrderAmount?: number | null
}

const createCouponSchema = {
  tags: ['admin'],
  summary: 'Create a coupon',
  description:
    'A RATE discount is a percentage (1..100) of the order total, rounded down; an AMOUNT discount is ' +
    'won, capped at the total. At most 999,999 units. A coupon without expiresAt never expires.',
  security: adminSecurity,
  body: {
    type: 'object',
    required: ['name', 'discountType', 'discountValue', 'totalQuantity'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 200 },
      discountType: discountTypeSchema,
      // The column is a PostgreSQL integer.
      discountValue: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
      // A user coupon's id is couponId * 1,000,000 + the unit's ordinal (state/migrations/0002-coupons.ts).
      totalQuantity: { type: 'integer', minimum: 1, maximum: 999_999 },
      expiresAt: { type: ['string', 'null'], format: 'date-time' },
      minOrderAmount: { ...amountSchema, type: ['integer', 'null'] },
    },
    // RATE is a percentage. anyOf, not if/then (which OpenAPI 3.0 lacks); the discountValue branch
    // comes first so the error names that field ("body.discountValue: must be <= 100").
    anyOf: [
      { properties: { discountValue: { type: 'integer', maximum: 100 } } },
      { properties: { discountType: { type: 'string', enum: ['AMOUNT'] } } },
    ],
  },
  response: {
    201: adminCouponSchema,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED' }),
  },
} as const

export function adminCouponRoutes(app: FastifyInstance, opts: { db: Kysely<Database> }): void {
  app.post<{ Body: CreateCouponBody }>(
    '/admin/coupons',
    { schema: createCouponSchema },
    async (request, reply) => {
      const { expiresAt, ...terms } = request.body
      const coupon = await createCoupon(opts.db, {
        ...terms,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
      })
      return reply.status(201).send(coupon)
    },
  )
}
