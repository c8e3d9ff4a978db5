/** Setup route for products. Registered behind `requireBearer`. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { createProduct } from '../../state/products.ts'
import type { Database } from '../../state/schema.ts'
import { adminSecurity } from '../auth.ts'
import { Amount, errorResponses, Nullable, Product } from '../schemas.ts'

const createProductSchema = {
  tags: ['admin'],
  summary: 'Create a product with its starting stock',
  description:
    'The price is integer won. The starting stock is kept apart as the conservation check’s baseline.',
  security: adminSecurity,
  body: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2_000 }))),
    price: Amount,
    // The column is a PostgreSQL integer.
    stock: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
  }),
  response: {
    201: Product,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 401: 'UNAUTHORIZED' }),
  },
}

export function adminProductRoutes(instance: FastifyInstance, opts: { db: Kysely<Database> }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.post('/admin/products', { schema: createProductSchema }, async (request, reply) =>
    reply.status(201).send(await createProduct(opts.db, request.body)),
  )
}
