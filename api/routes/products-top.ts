/** `GET /products/top`: the sales ranking from Redis, with the names from PostgreSQL. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { MAX_TOP_DAYS, MAX_TOP_LIMIT, type SalesRanking } from '../../state/ranking.ts'
import { productNames } from '../../state/ranking-source.ts'
import type { Database } from '../../state/schema.ts'
import { EntityId, errorResponses } from '../schemas.ts'

const TopQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: MAX_TOP_LIMIT, default: 5 }),
  days: Type.Integer({ minimum: 1, maximum: MAX_TOP_DAYS, default: 3 }),
})

export const RankedProduct = Type.Object({
  productId: EntityId,
  name: Type.String(),
  salesCount: Type.Integer(),
})

const topSchema = {
  tags: ['shop'],
  summary: 'The best-selling products of the last `days` days (Seoul calendar days, today included)',
  description:
    'Quantities of COMPLETED orders, highest first. 503 RANKING_REBUILDING while Redis lost the ranking and it is rebuilt from PostgreSQL.',
  querystring: TopQuery,
  response: {
    200: Type.Array(RankedProduct),
    ...errorResponses({ 400: 'VALIDATION_FAILED', 503: 'RANKING_REBUILDING, DEPENDENCY_UNAVAILABLE' }),
  },
}

export function productsTopRoutes(
  instance: FastifyInstance,
  opts: { db: Kysely<Database>; ranking: SalesRanking },
): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/products/top', { schema: topSchema }, async (request) => {
    const top = await opts.ranking.top(request.query.limit, request.query.days)
    const names = await productNames(
      opts.db,
      top.map((t) => t.productId),
    )
    // Products are never deleted, so every ranked id has a name; one without is left out, not invented.
    return top.flatMap((t) => {
      const name = names.get(t.productId)
      return name === undefined ? [] : [{ productId: t.productId, name, salesCount: t.salesCount }]
    })
  })
}
