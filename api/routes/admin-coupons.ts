/** Setup route for coupons. Registered behind `requireBearer`. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { createCoupon } from '../../state/coupons.ts'
import type { Database } from '../../state/schema.ts'
import { adminSecurity } from '../auth.ts'
import { AdminCoupon, Amount, DiscountType, errorResponses, Nullable } from '../schemas.ts'

const CreateCouponBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    discountType: DiscountType,
    // The column is a PostgreSQL integer.
    discountValue: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    // A user coupon's id is couponId * 1,000,000 + the unit's ordinal (state/migrations/0002-coupons.ts).
    totalQuantity: Type.Integer({ minimum: 1, maximum: 999_999 }),
    expiresAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
    minOrderAmount: Type.Optional(Nullable(Amount)),
  },
  {
    // RATE is a percentage. anyOf, not if/then (which OpenAPI 3.0 lacks); the discountValue branch
    // comes first so the error names that field ("body.discountValue: must be <= 100"). A keyword
    // beside the object's: TypeBox has no builder for a cross-field rule, and the type is the object's.
    anyOf: [
      { properties: { discountValue: { type: 'integer', maximum: 100 } } },
      { properties: { discountType: { type: 'string', enum: ['AMOUNT'] } } },
    ],
  },
)

const createCouponSchema = {
  tags: ['admin'],
  summary: 'Create a coupon',
  description:
    'A RATE discount is a percentage (1..100) of the order total, rounded down; an AMOUNT discount is ' +
    'won, capped at the total. At most 999,999 units. A coupon without expiresAt never expires.',
  security: adminSecurity,
  body: CreateCouponBody,
  response: {
    201: AdminCoupon,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED' }),
  },
}

export function adminCouponRoutes(instance: FastifyInstance, opts: { db: Kysely<Database> }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.post('/admin/coupons', { schema: createCouponSchema }, async (request, reply) => {
    const { expiresAt, ...terms } = request.body
    const coupon = await createCoupon(opts.db, {
      ...terms,
      expiresAt: expiresAt ? new Date(expiresAt) : null,
    })
    return reply.status(201).send(coupon)
  })
}
