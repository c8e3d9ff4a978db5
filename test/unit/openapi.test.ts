import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { RejectReason } from '../../processors/coupon-issuer.ts'
import { EntityId, RequestId } from '../../processors/fields.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import type { Database } from '../../state/schema.ts'

/** A database that is never reached: the document is built from the route schemas alone. */
const offline = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})

interface Operation {
  parameters: Array<{ in: string; name: string; schema: unknown }>
  requestBody?: { content: { 'application/json': { schema: unknown } } }
  responses: Record<
    string,
    { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } }
  >
}
let paths: Record<string, Record<string, Operation>>

beforeAll(async () => {
  const app = await buildApp({
    logger: pino({ level: 'silent' }),
    health: new Health(),
    metrics: createMetrics(),
    shop: { db: offline },
  })
  paths = (await app.inject({ method: 'GET', url: '/docs/json' })).json().paths
  await app.close()
})
afterAll(() => offline.destroy())

/** A TypeBox schema as JSON, which is all a document can carry. */
const asJson = (schema: unknown) => JSON.parse(JSON.stringify(schema))

describe('the OpenAPI document at /docs/json', () => {
  it('should carry the TypeBox schemas the routes validate with, the topic records share', () => {
    const issue = paths['/coupons/{couponId}/issue']!.post!
    expect(issue.parameters).toEqual([
      expect.objectContaining({ in: 'query', name: 'waitMs', required: false }),
      expect.objectContaining({ in: 'path', name: 'couponId', schema: asJson(EntityId) }),
    ])
    expect(issue.requestBody?.content['application/json'].schema).toEqual({
      type: 'object',
      required: ['userId'],
      properties: { userId: asJson(EntityId) },
    })

    const follow = paths['/coupons/{couponId}/requests/{requestId}']!.get!
    expect(follow.parameters.find((p) => p.name === 'requestId')?.schema).toEqual(asJson(RequestId))
    // The reason a result record carries on the topic is the one the API answers with.
    const answer = follow.responses['200']!.content['application/json'].schema
    expect(answer.properties.reason).toEqual(asJson(RejectReason))
  })
})
