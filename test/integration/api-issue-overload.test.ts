/**
 * Back-pressure on the flash-sale route: while PostgreSQL is slow, issue requests wait for a statement
 * in a bounded queue; once it is full, more are refused at once with 503 OVERLOADED and Retry-After
 * (they used to pile up in memory without limit), and the accepted ones still commit whole.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Kysely } from 'kysely'
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { Health } from '../../service/health.ts'
import { createMetrics, type ServiceMetrics } from '../../service/metrics.ts'
import { createCoupon } from '../../state/coupons.ts'
import type { Database } from '../../state/schema.ts'
import { createUser } from '../../state/users.ts'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const MAX_WAITING = 2
let db: Kysely<Database>
let app: FastifyInstance
let metrics: ServiceMetrics
let locker: pg.Client

beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
  metrics = createMetrics()
  app = await buildApp({
    logger: pino({ level: 'silent' }),
    health: new Health(),
    metrics,
    // One statement at a time and room for two more requests: the bound is reached with a handful.
    shop: { db, issueQueue: { maxInFlight: 1, maxWaiting: MAX_WAITING } },
  })
  locker = new pg.Client({ connectionString: infra.databaseUrl })
  await locker.connect()
})

afterAll(async () => {
  await locker?.end()
  await app?.close()
  await db?.destroy()
})

/** Holds the outbox batches, which every accepted request writes to, until `release`: PostgreSQL made slow. */
async function lockOutbox() {
  await locker.query('begin')
  await locker.query('lock table outbox_batches in access exclusive mode')
  return { release: () => locker.query('rollback') }
}

/** Until a statement of this database waits on a lock: the first request is in flight and stuck. */
async function untilBlocked() {
  await vi.waitFor(
    async () => {
      const { rows } = await locker.query(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'`,
      )
      expect(rows[0].n).toBeGreaterThan(0)
    },
    { timeout: 30_000, interval: 20 },
  )
}

const refusedTotal = async () =>
  (await metrics.registry.getSingleMetric('commerce_issue_queue_refused_total')?.get())?.values[0]?.value

describe('POST /coupons/:couponId/issue under overload', () => {
  it('should refuse requests beyond the queue bound with 503 OVERLOADED and Retry-After, and commit the accepted ones whole', async () => {
    const coupon = await createCoupon(db, {
      name: 'flash',
      discountType: 'RATE',
      discountValue: 10,
      totalQuantity: 100,
      expiresAt: null,
      minOrderAmount: null,
    })
    const users = await Promise.all(
      Array.from({ length: 10 }, (_, i) => createUser(db, { name: `u${i}`, points: 0 })),
    )
    const issue = (userId: number) =>
      app.inject({ method: 'POST', url: `/coupons/${coupon.couponId}/issue`, payload: { userId } })

    const lock = await lockOutbox()
    const replies: Array<LightMyRequestResponse | undefined> = []
    const track = (i: number) => issue(users[i]!.userId).then((r) => (replies[i] = r))
    const first = track(0)
    await untilBlocked()
    const rest = users.slice(1).map((_, i) => track(i + 1))

    // While the statement is stuck, everything beyond one in flight and MAX_WAITING queued is refused.
    const refusedCount = 10 - 1 - MAX_WAITING
    await vi.waitFor(() => expect(replies.filter(Boolean)).toHaveLength(refusedCount), { timeout: 10_000 })
    for (const reply of replies.filter((r) => r !== undefined)) {
      expect(reply.statusCode, reply.body).toBe(503)
      expect(reply.json()).toEqual({ code: 'OVERLOADED', message: expect.any(String) })
      expect(reply.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    }
    expect(await refusedTotal()).toBe(refusedCount)

    await lock.release()
    await Promise.all([first, ...rest])
    const accepted = replies.filter((r) => r?.statusCode === 202).map((r) => r!.json().requestId as string)
    expect(accepted).toHaveLength(1 + MAX_WAITING)
    expect(replies.filter((r) => r?.statusCode === 503)).toHaveLength(refusedCount)

    // Nothing lost, nothing half-written: each accepted request has its row and its outbox record,
    // and the refused ones left neither.
    const rows = await db.selectFrom('coupon_issue_requests').select('request_id').execute()
    expect(rows.map((r) => r.request_id).sort()).toEqual([...accepted].sort())
    const outbox = await pendingOutputs(db)
    expect(outbox.map((o) => JSON.parse(o.value.toString()).requestId).sort()).toEqual([...accepted].sort())

    // The queue drained: the next request is accepted again.
    const after = await issue(users[9]!.userId)
    expect(after.statusCode, after.body).toBe(202)
  })
})
