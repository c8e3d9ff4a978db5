/**
 * The Redis ranking belongs to one database: a Redis that kept its data while the service's database
 * was dropped and created again, or while the service was pointed at another database, must not serve
 * the old database's numbers. The projector rebuilds the view from the database it now reads.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allTopics, InternalTopics, internalTopic } from '../../processors/topics.ts'
import type { Database } from '../../state/schema.ts'
import { dlqTopic } from '../../topology/topic-admin.ts'
import { useInfra } from '../support/infra.ts'
import { insertOrder, insertProducts } from '../support/orders.ts'
import { type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'
import { type ServiceProcess, serviceEnv, startService, waitForHttp } from '../support/service-process.ts'

const infra = useInfra()
const appId = infra.name('rankdb')
const other = `${new URL(infra.databaseUrl).pathname.slice(1)}_other`
const otherUrl = withDatabase(infra.databaseUrl, other)
let redis: PrivateRedis
const started: ServiceProcess[] = []

beforeAll(async () => {
  redis = await startPrivateRedis()
})
afterAll(async () => {
  for (const service of started) await service.stop('SIGKILL')
  await redis?.stop()
  await onServer(`drop database if exists ${other} with (force)`)
  await infra.admin
    .deleteTopics({
      // Every topic the service created: the contract's, their DLQs, the saga's own and theirs.
      topics: [
        ...allTopics(`${appId}.`),
        ...Object.values(InternalTopics).flatMap((name) => [
          internalTopic(appId, name),
          dlqTopic(internalTopic(appId, name)),
        ]),
      ],
    })
    .catch(() => {})
})

type Ranked = Array<{ productId: number; salesCount: number }>

/** A fresh, migrated database at `url` holding COMPLETED orders of these quantities (product i+1). */
async function databaseSelling(url: string, quantities: readonly number[]): Promise<Ranked> {
  const db: Kysely<Database> = await migratedDb(url)
  try {
    const products = await insertProducts(db, quantities.length)
    for (const [i, quantity] of quantities.entries())
      await insertOrder(db, { status: 'COMPLETED', items: [{ productId: products[i]!, quantity }] })
    return products
      .map((productId, i) => ({ productId, salesCount: quantities[i]! }))
      .sort((a, b) => b.salesCount - a.salesCount)
  } finally {
    await db.destroy()
  }
}

/** Starts the service on `databaseUrl` with the private Redis, which keeps what it held. */
async function serviceOn(databaseUrl: string): Promise<ServiceProcess> {
  const service = await startService(serviceEnv({ ...infra, databaseUrl }, appId, redis.url))
  started.push(service)
  await waitForHttp(`${service.url}/health/ready`, (status) => status === 200, 60_000)
  return service
}

/**
 * Polls GET /products/top until it answers `expected`. 503 RANKING_REBUILDING is fine meanwhile; a
 * 200 with anything else is another database's ranking served as this one's.
 */
async function expectRanking(service: ServiceProcess, expected: Ranked): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const response = await fetch(`${service.url}/products/top?limit=100&days=1`)
    const body = (await response.json()) as unknown
    if (response.status === 200) {
      const ranked = (body as Ranked).map(({ productId, salesCount }) => ({ productId, salesCount }))
      expect(ranked, 'GET /products/top served a ranking other than the database’s').toEqual(expected)
      return
    }
    expect(body).toMatchObject({ code: 'RANKING_REBUILDING' })
    if (Date.now() > deadline) throw new Error(`still rebuilding after 20 s: ${JSON.stringify(body)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('the sales ranking and the database it was built from', () => {
  it('should rebuild, not serve the old numbers, when the database was created anew or is another one', async () => {
    const first = await databaseSelling(infra.databaseUrl, [5, 3, 1])
    let service = await serviceOn(infra.databaseUrl)
    await expectRanking(service, first)
    await service.stop()

    // Dropped and created again under the same name: the same product ids, other sales.
    await onServer(`drop database ${new URL(infra.databaseUrl).pathname.slice(1)} with (force)`)
    await onServer(`create database ${new URL(infra.databaseUrl).pathname.slice(1)}`)
    const recreated = await databaseSelling(infra.databaseUrl, [2, 7])
    expect(isDeepStrictEqual(recreated, first)).toBe(false)
    service = await serviceOn(infra.databaseUrl)
    await expectRanking(service, recreated)
    await service.stop()

    // Another database altogether, the same Redis.
    await onServer(`create database ${other}`)
    const another = await databaseSelling(otherUrl, [4, 6, 9, 1])
    service = await serviceOn(otherUrl)
    await expectRanking(service, another)
    await service.stop()
  })
})

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(infra.databaseUrl, 'postgres') })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}
