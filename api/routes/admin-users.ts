/** Setup routes for users: create one, charge points. Registered behind `requireBearer`. */
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { CommerceError } from '../../service/errors.ts'
import type { Database } from '../../state/schema.ts'
import { chargePoints, createUser } from '../../state/users.ts'
import { adminSecurity } from '../auth.ts'
import { amountSchema, errorResponses, userIdParams, userSchema } from '../schemas.ts'

const createUserSchema = {
  tags: ['admin'],
  summary: 'Create a user with a starting point balance',
  security: adminSecurity,
  body: {
    type: 'object',
    required: ['name', 'points'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, points: amountSchema },
  },
  response: {
    201: userSchema,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED' }),
  },
} as const

const chargeSchema = {
  tags: ['admin'],
  summary: "Charge points to a user's balance",
  security: adminSecurity,
  params: userIdParams,
  body: {
    type: 'object',
    required: ['amount'],
    properties: { amount: { ...amountSchema, minimum: 1 } },
  },
  response: {
    200: {
      type: 'object',
      required: ['userId', 'points'],
      properties: { userId: userSchema.properties.userId, points: amountSchema },
    },
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED', 404: 'USER_NOT_FOUND' }),
  },
} as const

export function adminUserRoutes(app: FastifyInstance, opts: { db: Kysely<Database> }): void {
  app.post<{ Body: { name: string; points: number } }>(
    '/admin/users',
    { schema: createUserSchema },
    async (request, reply) => reply.status(201).send(await createUser(opts.db, request.body)),
  )

  app.post<{ Params: { userId: number }; Body: { amount: number } }>(
    '/admin/users/:userId/points',
    { schema: chargeSchema },
    async (request) => {
      const { userId } = request.params
      const result = await chargePoints(opts.db, { userId, amount: request.body.amount })
      if (result.status === 'USER_NOT_FOUND') throw new CommerceError('USER_NOT_FOUND', `no user ${userId}`)
      if (result.status === 'LIMIT_EXCEEDED') {
        throw new CommerceError('VALIDATION_FAILED', 'amount: the balance would exceed 2^53 - 1 points')
      }
      return { userId, points: result.user.points }
    },
  )
}
