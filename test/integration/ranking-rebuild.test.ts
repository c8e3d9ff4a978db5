/**
 * The ranking as the running service keeps it: orders complete (rows in PostgreSQL, status and restore
 * events on the real broker) while the service's Redis — a private redis-server — restarts empty. The
 * API answers 503 RANKING_REBUILDING until the projector rebuilt the view, and afterwards the ranking
 * equals the quantities of the COMPLETED orders exactly; the business metrics counted each order once.
 */
import { compatibilityPartitioner, Producer, stringSerializers } from '@platformatic/kafka'
import type { Kysely } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OrderFailureReasons } from '../../processors/order-messages.ts'
import { topicNames } from '../../processors/topics.ts'
import { startOfSeoulDay } from '../../state/ranking-keys.ts'
import type { Database } from '../../state/schema.ts'
import { useInfra } from '../support/infra.ts'
import { completedQuantities, insertOrder, insertProducts } from '../support/orders.ts'
import { type PrivateRedis, startPrivateRedis } from '../support/private-redis.ts'
import { migratedDb, waitUntil } from '../support/runtime-fixtures.ts'
import { type ServiceProcess, serviceEnv, startService, waitForHttp } from '../support/service-process.ts'

const infra = useInfra()
const appId = infra.name('rank')
const topics = topicNames(`${appId}.`)
const DAY = 86_400_000
let db: Kysely<Database>
let redis: PrivateRedis
let service: ServiceProcess
const producer = new Producer({
  clientId: `${appId}-producer`,
  bootstrapBrokers: infra.brokers,
  serializers: stringSerializers,
  partitioner: compatibilityPartitioner,
})

beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
  redis = await startPrivateRedis()
  service = await startService(serviceEnv(infra, appId, redis.url))
  await waitForHttp(`${service.url}/health/ready`, (status) => status === 200, 60_000)
})
afterAll(async () => {
  await service?.stop('SIGKILL')
  await redis?.stop()
  await producer.close()
  await db?.destroy()
  await infra.admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {})
})

/** What the writer did: what the metrics must say. */
const written = { completed: 0, failed: new Map<string, number>(), stockRestores: 0 }

/** One order completes or fails as the saga would leave it: the row first, then its event(s). */
async function completeOne(products: number[], i: number): Promise<void> {
  const failed = i % 5 === 4
  const reason = Object.values(OrderFailureReasons)[i % 3]!
  // Every third order completed yesterday (Seoul): the 3-day ranking sums both days.
  const finishedAt = new Date(Date.now() - (i % 3 === 0 ? DAY : 0))
  const items = [{ productId: products[i % products.length]!, quantity: 1 + (i % 4) }]
  if (i % 7 === 0) items.push({ productId: products[(i + 1) % products.length]!, quantity: 2 })
  const orderId = await insertOrder(db, {
    status: failed ? 'FAILED' : 'COMPLETED',
    items,
    finishedAt,
    reason,
  })
  const event = failed
    ? { orderId, userId: 1, status: 'FAILED', reason, failedAt: finishedAt.toISOString() }
    : { orderId, userId: 1, status: 'COMPLETED', completedAt: finishedAt.toISOString() }
  const messages = [{ topic: topics.ORDER_STATUS, key: String(orderId), value: JSON.stringify(event) }]
  if (failed) {
    const restore = { eventId: `${orderId}/stock/${items[0]!.productId}`, orderId, ...items[0]! }
    messages.push({
      topic: topics.STOCK_RESTORE,
      key: String(restore.productId),
      value: JSON.stringify(restore),
    })
    written.stockRestores++
  }
  // Every fourth order's events arrive twice, as an outbox re-send or a redelivery would bring them.
  await producer.send({ messages: i % 4 === 0 ? [...messages, ...messages] : messages })
  if (failed) written.failed.set(reason, (written.failed.get(reason) ?? 0) + 1)
  else written.completed++
}

async function getTop(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${service.url}/products/top?limit=100&days=3`)
  return { status: response.status, body: await response.json() }
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)))
  return line ? Number(line.split(' ').at(-1)) : Number.NaN
}

describe('the sales ranking on the running service', () => {
  it('should answer 503 RANKING_REBUILDING after Redis restarts empty, then equal the COMPLETED orders exactly', async () => {
    const products = await insertProducts(db, 6)
    let i = 0
    let writing = true
    const writer = (async () => {
      while (writing) {
        await completeOne(products, i++)
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
    await waitUntil(
      'orders before the restart are ranked',
      async () => (await getTop()).status === 200 && i > 50,
      30_000,
    )

    // Hold the rebuild (its snapshot reads order_items) so the rebuilding state is seen for certain.
    const locker = new pg.Client({ connectionString: infra.databaseUrl })
    await locker.connect()
    await locker.query('begin')
    await locker.query('lock table order_items in access exclusive mode')
    await redis.restart()
    const answer = await waitForHttp(
      `${service.url}/products/top?limit=5&days=3`,
      (status, body) => status === 503 && (body as { code?: string }).code === 'RANKING_REBUILDING',
      20_000,
    )
    expect(answer.body).toMatchObject({ code: 'RANKING_REBUILDING' })
    await locker.query('commit')
    await locker.end()

    // Orders keep completing while the view is rebuilt and after it.
    await new Promise((r) => setTimeout(r, 1_500))
    writing = false
    await writer

    const from = new Date(startOfSeoulDay(Date.now()) - 2 * DAY)
    const expected = [...(await completedQuantities(db, from))]
      .map(([productId, salesCount]) => ({ productId, salesCount }))
      .sort((a, b) => b.salesCount - a.salesCount || a.productId - b.productId)
    const ranked = () =>
      getTop().then(({ status, body }) =>
        status !== 200
          ? []
          : (body as Array<{ productId: number; name: string; salesCount: number }>)
              .map(({ productId, salesCount }) => ({ productId, salesCount }))
              .sort((a, b) => b.salesCount - a.salesCount || a.productId - b.productId),
      )
    await waitUntil(
      'the ranking catches up',
      async () => JSON.stringify(await ranked()) === JSON.stringify(expected),
      30_000,
    )
    expect(await ranked()).toEqual(expected)
    expect(expected.length).toBe(products.length)
    const top = (await getTop()).body as Array<{ productId: number; name: string }>
    expect(top[0]!.name).toMatch(/^product-\d$/)

    // The business metrics: each order and restore once, though every fourth event came twice.
    await waitUntil(
      'metrics counted',
      async () =>
        (await metric('commerce_orders_total', 'outcome="COMPLETED",reason="none"')) === written.completed,
      10_000,
    )
    for (const reason of Object.values(OrderFailureReasons))
      expect(await metric('commerce_orders_total', `outcome="FAILED",reason="${reason}"`), reason).toBe(
        written.failed.get(reason) ?? 0,
      )
    expect(await metric('commerce_order_duration_seconds_count', 'outcome="COMPLETED"')).toBe(
      written.completed,
    )
    expect(await metric('commerce_compensations_total', 'kind="stock"')).toBe(written.stockRestores)
    expect(await metric('commerce_compensations_total', 'kind="points"')).toBe(0)
    // The first start built the empty view, the restart rebuilt it.
    expect(await metric('commerce_ranking_rebuilds_total', '')).toBeGreaterThanOrEqual(2)
    expect(await metric('commerce_ranking_updates_total', 'result="applied"')).toBeGreaterThan(0)
  })

  it('should reject a limit or days out of range with 400 VALIDATION_FAILED naming the field', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['days=8', 'days'],
      ['days=x', 'days'],
    ]) {
      const response = await fetch(`${service.url}/products/top?${query}`)
      expect(response.status, query).toBe(400)
      const body = (await response.json()) as { code: string; message: string }
      expect(body.code).toBe('VALIDATION_FAILED')
      expect(body.message).toContain(field)
    }
  })
})
