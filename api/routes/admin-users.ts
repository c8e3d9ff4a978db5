/** Setup routes for users: create one, charge points. Registered behind `requireBearer`. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { CommerceError } from '../../service/errors.ts'
import { requestCharge } from '../../state/point-charges.ts'
import type { Database } from '../../state/schema.ts'
import { createUser } from '../../state/users.ts'
import { adminSecurity } from '../auth.ts'
import { Amount, EntityId, errorResponses, User, UserIdParams } from '../schemas.ts'

export interface AdminUserRouteOptions {
  db: Kysely<Database>
  /** `<applicationId>-user-commands`: where the owner of users' points reads charges. */
  userCommandsTopic: string
  /** Called after a charge commits: the outbox relay's nudge. */
  onEnqueued?: (() => void) | undefined
}

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

const ChargeAmount = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

const chargeSchema = {
  tags: ['admin'],
  summary: "Charge points to a user's balance",
  description:
    "Accepted charges are applied by the owner of the user's points, once each; GET /users/{userId} " +
    'shows the balance once applied. A charge that would take the balance past 2^53 - 1 is refused.',
  security: adminSecurity,
  params: UserIdParams,
  body: Type.Object({ amount: ChargeAmount }),
  response: {
    202: Type.Object({ chargeId: Type.String({ format: 'uuid' }), userId: EntityId, amount: ChargeAmount }),
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED', 404: 'USER_NOT_FOUND' }),
  },
}

export function adminUserRoutes(instance: FastifyInstance, opts: AdminUserRouteOptions): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.post('/admin/users', { schema: createUserSchema }, async (request, reply) =>
    reply.status(201).send(await createUser(opts.db, request.body)),
  )

  app.post('/admin/users/:userId/points', { schema: chargeSchema }, async (request, reply) => {
    const { userId } = request.params
    const { amount } = request.body
    const result = await requestCharge(opts.db, { userId, amount, topic: opts.userCommandsTopic })
    if (result.status === 'USER_NOT_FOUND') throw new CommerceError('USER_NOT_FOUND', `no user ${userId}`)
    if (result.status === 'LIMIT_EXCEEDED') {
      throw new CommerceError('VALIDATION_FAILED', 'amount: the balance would exceed 2^53 - 1 points')
    }
    opts.onEnqueued?.()
    return reply.status(202).send({ chargeId: result.chargeId, userId, amount })
  })
}
