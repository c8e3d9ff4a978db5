/** Shop routes for a user: the balance and the coupons held. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { CommerceError } from '../../service/errors.ts'
import { listUserCoupons } from '../../state/coupons.ts'
import type { Database } from '../../state/schema.ts'
import { findUser } from '../../state/users.ts'
import { errorResponses, User, UserCoupon, UserIdParams } from '../schemas.ts'

const getUserSchema = {
  tags: ['shop'],
  summary: 'A user and their point balance',
  params: UserIdParams,
  response: { 200: User, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND' }) },
}

const listCouponsSchema = {
  tags: ['shop'],
  summary: 'The coupons a user holds, oldest first',
  params: UserIdParams,
  response: {
    200: Type.Array(UserCoupon),
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND' }),
  },
}

const notFound = (userId: number) => new CommerceError('USER_NOT_FOUND', `no user ${userId}`)

export function userRoutes(instance: FastifyInstance, opts: { db: Kysely<Database> }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/users/:userId', { schema: getUserSchema }, async (request) => {
    const user = await findUser(opts.db, request.params.userId)
    if (!user) throw notFound(request.params.userId)
    return user
  })

  app.get('/users/:userId/coupons', { schema: listCouponsSchema }, async (request) => {
    const { userId } = request.params
    const [user, coupons] = await Promise.all([findUser(opts.db, userId), listUserCoupons(opts.db, userId)])
    if (!user) throw notFound(userId)
    return coupons
  })
}
