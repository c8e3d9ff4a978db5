/** Shop routes for the catalogue: a page of products, one product. `GET /products/top` lives apart. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { CommerceError } from '../../service/errors.ts'
import { findProduct, listProducts } from '../../state/products.ts'
import type { Database } from '../../state/schema.ts'
import { EntityId, errorResponses, Product, ProductIdParams } from '../schemas.ts'

const listSchema = {
  tags: ['shop'],
  summary: 'The products, in id order',
  description: 'At most `limit` products; the next page starts `after` the last productId of this one.',
  querystring: Type.Object({
    limit: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
    after: Type.Optional(EntityId),
  }),
  response: { 200: Type.Array(Product), ...errorResponses({ 400: 'VALIDATION_FAILED' }) },
}

const getSchema = {
  tags: ['shop'],
  summary: 'A product, its price and the units in stock',
  params: ProductIdParams,
  response: { 200: Product, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'PRODUCT_NOT_FOUND' }) },
}

export function productRoutes(instance: FastifyInstance, opts: { db: Kysely<Database> }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/products', { schema: listSchema }, async (request) => listProducts(opts.db, request.query))

  // A static route (GET /products/top) may sit beside this one: fastify's router prefers it.
  app.get('/products/:productId', { schema: getSchema }, async (request) => {
    const product = await findProduct(opts.db, request.params.productId)
    if (!product) throw new CommerceError('PRODUCT_NOT_FOUND', `no product ${request.params.productId}`)
    return product
  })
}
