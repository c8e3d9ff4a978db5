/** Shop routes for a user: the balance and the coupons held. */
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { CommerceError } from '../../service/errors.ts'
import { listUserCoupons } from '../../state/coupons.ts'
import type { Database } from '../../state/schema.ts'
import { findUser } from '../../state/users.ts'
import { errorResponses, userCouponSchema, userIdParams, userSchema } from '../schemas.ts'

const getUserSchema = {
  tags: ['shop'],
  summary: 'A user and their point balance',
  params: userIdParams,
  response: { 200: userSchema, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND' }) },
} as const

const listCouponsSchema = {
  tags: ['shop'],
  summary: 'The coupons a user holds, oldest first',
  params: userIdParams,
  response: {
    200: { type: 'array', items: userCouponSchema },
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND' }),
  },
} as const

const notFound = (userId: number) => new CommerceError('USER_NOT_FOUND', `no user ${userId}`)

export function userRoutes(app: FastifyInstance, opts: { db: Kysely<Database> }): void {
  app.get<{ Params: { userId: number } }>('/users/:userId', { schema: getUserSchema }, async (request) => {
    const user = await findUser(opts.db, request.params.userId)
    if (!user) throw notFound(request.params.userId)
    return user
  })

  app.get<{ Params: { userId: number } }>(
    '/users/:userId/coupons',
    { schema: listCouponsSchema },
    async (request) => {
      const { userId } = request.params
      const [user, coupons] = await Promise.all([findUser(opts.db, userId), listUserCoupons(opts.db, userId)])
      if (!user) throw notFound(userId)
      return coupons
    },
  )
}
