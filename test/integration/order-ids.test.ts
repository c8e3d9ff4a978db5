/**
 * Order ids shared with other services: an order produced straight to `order-created-topic` brings its
 * own id, and the saga records it under that id. POST /orders takes its ids from `orders_id_seq`, which
 * knows nothing of them — it must still never hand out an id another order holds.
 */
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { SagaTables } from '../../processors/order-saga.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import type { TableRow } from '../../topology/api.ts'
import { useOrderFixture } from '../support/order-fixture.ts'
import { SagaDriver } from '../support/saga-driver.ts'

const { newProduct, order, userWith, api } = useOrderFixture()

const ordersTable = shopTopology('shop').nodes.find((n) => n.kind === 'table' && n.name === SagaTables.ORDERS)
if (ordersTable?.kind !== 'table' || !ordersTable.write) throw new Error('no saga orders table')
const writeOrders = ordersTable.write

/** The rows the saga's batch writes for orders another service produced to the topic, with these ids. */
async function topicOrderRows(productId: number, ids: readonly number[]): Promise<readonly TableRow[]> {
  const saga = new SagaDriver({ products: { [productId]: { stock: 5, price: 100 } }, users: { 1: 1_000 } })
  for (const id of ids) saga.order(id, 1, [[productId, 1]])
  await saga.process()
  return saga.driver.table(SagaTables.ORDERS)
}

/**
 * The id `orders_id_seq` hands out next, once moved past every order so far: each test starts clear
 * of the ids an earlier one left taken (on the old code, a failure would leave them ahead).
 */
async function nextSequenceId(): Promise<number> {
  const { rows } = await sql<{ next: string }>`
    select (setval('orders_id_seq', greatest(coalesce(max(id), 1), nextval('orders_id_seq'))) + 1)::text
      as next
    from orders`.execute(api.db)
  return Number(rows[0]!.next)
}

async function placeOne(userId: number, productId: number): Promise<number> {
  const res = await order({ userId, items: [{ productId, quantity: 1 }] })
  expect(res.statusCode, res.body).toBe(202)
  return res.json().orderId
}

const origins = async (ids: readonly number[]) =>
  Object.fromEntries(
    (
      await api.db.selectFrom('orders').select(['id', 'origin']).where('id', 'in', ids.map(String)).execute()
    ).map((o) => [Number(o.id), o.origin]),
  )

describe('order ids: the API and orders from the topic', () => {
  it('POST /orders should skip the ids that orders from the topic took just ahead of the sequence', async () => {
    const userId = await userWith(100_000)
    const productId = await newProduct({ price: 100, stock: 100 })
    const next = await nextSequenceId()
    // Another service's orders took the next two ids and one a little further on.
    const taken = [next, next + 1, next + 3]
    const rows = await topicOrderRows(productId, taken)
    await api.db.transaction().execute((trx) => writeOrders(trx, rows))

    const placed: number[] = []
    for (let i = 0; i < 5; i++) placed.push(await placeOne(userId, productId))

    expect(new Set(placed).size).toBe(5)
    expect(placed.filter((id) => taken.includes(id))).toEqual([])
    // Each order kept its own row: the topic's are still the topic's, the API's the API's.
    expect(await origins([...taken, ...placed])).toEqual({
      ...Object.fromEntries(taken.map((id) => [id, 'TOPIC'])),
      ...Object.fromEntries(placed.map((id) => [id, 'API'])),
    })
  })

  it('POST /orders should wait for a topic order holding its next id uncommitted, then take another', async () => {
    const userId = await userWith(100_000)
    const productId = await newProduct({ price: 100, stock: 100 })
    const next = await nextSequenceId()
    const rows = await topicOrderRows(productId, [next])

    let placing: ReturnType<typeof order> | undefined
    await api.db.transaction().execute(async (trx) => {
      await writeOrders(trx, rows)
      placing = order({ userId, items: [{ productId, quantity: 1 }] })
      // The API's insert of the same id waits on the saga's uncommitted row until it commits.
      await waitForLockWait()
    })
    const res = await placing!
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json().orderId).not.toBe(next)
    expect(await origins([next, res.json().orderId])).toEqual({
      [next]: 'TOPIC',
      [res.json().orderId]: 'API',
    })
  })
})

async function waitForLockWait(): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(api.db)
    if (rows[0]!.n > 0) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error('the API never waited for the uncommitted order')
}
