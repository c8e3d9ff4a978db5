/**
 * The hot path's statements must cost per row they touch, not per row the table holds, whether or not
 * PostgreSQL has statistics. This machine runs with autovacuum off, so no table is ever analyzed, and
 * a new deployment's tables have none until autovacuum comes round: a task's store lookups
 * (`PostgresStateBackend.loadKeys`, written as `key = any($keys)`) then read every entry of the
 * partition's store, and the saga's progress update read every PENDING order (bench:orders slowed as
 * its tables grew).
 */
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { orderProgressStatement } from '../../processors/saga-rows.ts'
import type { Database } from '../../state/schema.ts'
import { PostgresStateBackend, storeKeysStatement } from '../../topology/postgres/state-backend.ts'
import { useInfra } from '../support/infra.ts'
import { type PlanNode, planNodes } from '../support/query-plans.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const ENTRIES = 90_000 // a third of them in the partition asked
const ORDERS = 60_000 // all PENDING, as when a rush is under way
let db: Kysely<Database>
let task: { applicationId: string; processor: string; partition: number }

beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
  task = { applicationId: infra.name('store-keys'), processor: 'order-saga', partition: 1 }
  // No ANALYZE: the plan a table without statistics gets.
  await sql`insert into store_entries (application_id, store, partition, key, value)
    select ${task.applicationId}, 'sagas', g % 3, 'order/' || g, jsonb_build_object('n', g)
    from generate_series(1, ${ENTRIES}::int) g`.execute(db)
  await sql`insert into orders (id, user_id, status, total_amount, discount_amount, final_amount, origin)
    select g, g, 'PENDING', 1000, 0, 1000, 'API' from generate_series(1, ${ORDERS}::int) g`.execute(db)
})

afterAll(() => db?.destroy())

const ROLLBACK = new Error('roll back')

/** The statement's plan as it ran (EXPLAIN ANALYZE, in a transaction rolled back after). */
async function planOf(statement: ReturnType<typeof sql>): Promise<PlanNode> {
  let plan: PlanNode | undefined
  await db
    .transaction()
    .execute(async (trx) => {
      const { rows } = await sql<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>`
        explain (analyze, buffers, format json) ${statement}`.execute(trx)
      plan = rows[0]!['QUERY PLAN'][0]!.Plan
      throw ROLLBACK
    })
    .catch((error) => {
      if (error !== ROLLBACK) throw error
    })
  return plan!
}

const pagesRead = (plan: PlanNode) => (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0)

describe('a store lookup by keys', () => {
  it('should return exactly the entries of the keys asked that exist in this partition', async () => {
    const backend = new PostgresStateBackend(db)
    // order/4 and order/7 are in partition 1; order/5 is in partition 2; order/999999 does not exist.
    const found = await backend.loadKeys(task, 'sagas', ['order/4', 'order/5', 'order/7', 'order/999999'])
    expect(found).toEqual(
      new Map([
        ['order/4', { n: 4 }],
        ['order/7', { n: 7 }],
      ]),
    )
    expect(await backend.loadKeys(task, 'sagas', [])).toEqual(new Map())
  })

  it('should read a few pages per key from a 30,000-entry partition without statistics, not the whole store', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `order/${1 + 3 * i * 1_000}`)
    const pages = pagesRead(await planOf(storeKeysStatement(task, 'sagas', keys)))
    // A probe of the primary key reads its btree path and the heap page: ~4 pages a key. Filtering the
    // partition's entries read ~6,800.
    expect(pages).toBeGreaterThan(0)
    expect(pages).toBeLessThan(keys.length * 8)
  })
})

describe("the saga's progress update", () => {
  const progress = (orderId: number) => ({
    op: 'progress' as const,
    orderId,
    step: 'DONE' as const,
    status: 'COMPLETED',
    reason: null,
    completedAt: '2026-12-03T08:00:00.000Z',
    failedAt: null,
  })

  it('should probe each order of a batch among 60,000 PENDING ones without statistics, not read them all', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => progress(1 + i * 199))
    const plan = await planOf(orderProgressStatement(rows))
    // Each order is one probe: no step of the plan handles more rows than the batch names. Hashing
    // the PENDING orders took all 60,000 of them from the status index.
    const largest = Math.max(
      ...planNodes(plan).map((n) => (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 0)),
    )
    expect(largest).toBe(rows.length)
  })

  it('should move PENDING orders on and leave a final status as it is', async () => {
    await sql`update orders set status = 'FAILED', failure_reason = 'INSUFFICIENT_STOCK' where id = 2`.execute(
      db,
    )
    await orderProgressStatement([progress(1), progress(2), progress(ORDERS + 1)]).execute(db)
    const { rows } = await sql<{
      id: string
      status: string
      saga_step: string
      failure_reason: string | null
    }>`
      select id, status, saga_step, failure_reason from orders where id in (1, 2) order by id`.execute(db)
    expect(rows).toEqual([
      { id: '1', status: 'COMPLETED', saga_step: 'DONE', failure_reason: null },
      { id: '2', status: 'FAILED', saga_step: 'RECEIVED', failure_reason: 'INSUFFICIENT_STOCK' },
    ])
  })
})
