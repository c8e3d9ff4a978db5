/** Setup routes for users: create one, charge points. Registered behind `requireBearer`. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { CommerceError } from '../../service/errors.ts'
import type { Database } from '../../state/schema.ts'
import { chargePoints, createUser } from '../../state/users.ts'
import { adminSecurity } from '../auth.ts'
import { Amount, EntityId, errorResponses, User, UserIdParams } from '../schemas.ts'

const createUserSchema = {
  tags: ['admin'],
  summary: 'Create a user with a starting point balance',
  security: adminSecurity,
  body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), points: Amount }),
  response: {
    201: User,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED' }),
  },
}

const chargeSchema = {
  tags: ['admin'],
  summary: "Charge points to a user's balance",
  security: adminSecurity,
  params: UserIdParams,
  body: Type.Object({ amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
  response: {
    200: Type.Object({ userId: EntityId, points: Amount }),
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED', 404: 'USER_NOT_FOUND' }),
  },
}

export function adminUserRoutes(instance: FastifyInstance, opts: { db: Kysely<Database> }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.post('/admin/users', { schema: createUserSchema }, async (request, reply) =>
    reply.status(201).send(await createUser(opts.db, request.body)),
  )

  app.post('/admin/users/:userId/points', { schema: chargeSchema }, async (request) => {
    const { userId } = request.params
    const result = await chargePoints(opts.db, { userId, amount: request.body.amount })
    if (result.status === 'USER_NOT_FOUND') throw new CommerceError('USER_NOT_FOUND', `no user ${userId}`)
    if (result.status === 'LIMIT_EXCEEDED') {
      throw new CommerceError('VALIDATION_FAILED', 'amount: the balance would exceed 2^53 - 1 points')
    }
    return { userId, points: result.user.points }
  })
}
