/**
 * The coupon issuer's holders store grows with history: one entry per (coupon, user) ever issued. On
 * the real PostgreSQL backend, a task with 200,000 holders must open without reading them, load only
 * the holders its batch names, and still decide exactly — ALREADY_ISSUED across a restart included.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { CouponStores } from '../../processors/coupon-issuer.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { topicNames } from '../../processors/topics.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import type { BatchCommit, StateBackend, TaskId } from '../../topology/runtime/backend.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let destroy = async () => {}
afterAll(() => destroy())

const HISTORY = 200_000
const COUPON = 42
const PARTITION = 1

/** The real backend, counting the store entries each load returned (rows read from store_entries). */
class CountingBackend implements StateBackend {
  readonly loaded = new Map<string, number>()
  readonly #inner: PostgresStateBackend
  constructor(inner: PostgresStateBackend) {
    this.#inner = inner
  }
  claim(task: TaskId, owner: string, fallback: ReadonlyMap<string, bigint>) {
    return this.#inner.claim(task, owner, fallback)
  }
  async loadStore(task: TaskId, store: string) {
    return this.#count(store, await this.#inner.loadStore(task, store))
  }
  async loadKeys(task: TaskId, store: string, keys: readonly string[]) {
    return new Map(this.#count(store, [...(await this.#inner.loadKeys(task, store, keys))]))
  }
  lookup(name: string, keys: readonly string[]) {
    return this.#inner.lookup(name, keys)
  }
  commit(batch: BatchCommit) {
    return this.#inner.commit(batch)
  }
  #count<T>(store: string, rows: T[]): T[] {
    this.loaded.set(store, (this.loaded.get(store) ?? 0) + rows.length)
    return rows
  }
}

describe('the coupon holders store', () => {
  it('should open a task with 200,000 holders without reading them, and detect ALREADY_ISSUED across a restart', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const appId = infra.name('holders')
    const topics = topicNames(`${appId}.`)
    const topology = shopTopology(appId, topics)
    // History: users 1..200,000 each won a unit of the coupon, in earlier batches of this partition.
    await sql`insert into users (id, name) select g, 'user-' || g from generate_series(1, ${HISTORY + 10}) g`.execute(
      db,
    )
    await sql`insert into coupons (id, name, discount_type, discount_value, total_quantity, issued_quantity)
      values (${COUPON}, 'c', 'AMOUNT', 100, 999999, ${HISTORY})`.execute(db)
    await sql`insert into store_entries (application_id, store, partition, key, value)
      select ${appId}, ${CouponStores.HOLDERS}, ${PARTITION}, ${COUPON} || '/' || g,
        jsonb_build_object('userCouponId', ${COUPON} * 1000000 + g, 'requestId', 'old-' || g)
      from generate_series(1, ${HISTORY}) g`.execute(db)
    await sql`insert into store_entries (application_id, store, partition, key, value)
      values (${appId}, ${CouponStores.ISSUED}, ${PARTITION}, ${String(COUPON)}, ${String(HISTORY)}::jsonb)`.execute(
      db,
    )

    const backend = new CountingBackend(new PostgresStateBackend(db, topology.persistence()))
    let offset = 0n
    const request = (userId: number, requestId: string) => ({
      topic: topics.COUPON_ISSUE,
      partition: PARTITION,
      offset: offset++,
      key: Buffer.from(String(COUPON)),
      value: Buffer.from(JSON.stringify({ requestId, userId, couponId: COUPON })),
      timestamp: Date.now(),
      headers: {},
    })
    const openTask = async () => {
      const task = new PartitionTask({
        topology,
        processor: topology.node('processor', 'coupon-issuer'),
        partition: PARTITION,
        backend,
        owner: 'test',
        clock: Date.now,
        pause: async () => {},
      })
      await task.open(new Map([[topics.COUPON_ISSUE, 0n]]))
      return task
    }
    const decisions = async () => {
      const rows = await db
        .selectFrom('coupon_issue_requests')
        .select(['request_id', 'status', 'reason', 'user_coupon_id'])
        .orderBy('requested_at')
        .orderBy('request_id')
        .execute()
      return Object.fromEntries(
        rows.map((r) => [r.request_id, r.reason ?? `${r.status}:${r.user_coupon_id}`]),
      )
    }

    const first = await openTask()
    expect(backend.loaded.get(CouponStores.HOLDERS) ?? 0).toBe(0)
    await first.runBatch([
      request(5, 'again-5'), // a holder from history
      request(HISTORY + 1, 'new-1'),
      request(HISTORY + 1, 'new-1-again'), // the same user later in the same batch
    ])
    first.close()

    // A restart: a new task claims the partition and knows nothing but what PostgreSQL holds.
    const second = await openTask()
    await second.runBatch([
      request(HISTORY + 1, 'new-1-after-restart'), // won in the batch before the restart
      request(HISTORY, 'again-200000'),
      request(HISTORY + 2, 'new-2'),
    ])
    second.close()

    expect(await decisions()).toEqual({
      'again-5': 'ALREADY_ISSUED',
      'new-1': `ISSUED:${COUPON * 1_000_000 + HISTORY + 1}`,
      'new-1-again': 'ALREADY_ISSUED',
      'new-1-after-restart': 'ALREADY_ISSUED',
      'again-200000': 'ALREADY_ISSUED',
      'new-2': `ISSUED:${COUPON * 1_000_000 + HISTORY + 2}`,
    })
    // The holders each batch named (2 per batch), not the history: 4 keys asked, 3 of them present.
    expect(backend.loaded.get(CouponStores.HOLDERS)).toBe(3)
  })
})
