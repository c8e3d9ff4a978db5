/**
 * The coupon API on a real PostgreSQL database (its own, per test file), with the admin routes on:
 * an app built in-process and helpers to create users and coupons and read what the API wrote.
 */
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import pino from 'pino'
import { afterAll, beforeAll, expect } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import type { Database } from '../../state/schema.ts'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { useInfra } from './infra.ts'
import { migratedDb } from './runtime-fixtures.ts'

export function useApiFixture() {
  const infra = useInfra()
  const TOKEN = 'admin-token-for-tests-0123456789'
  let db: Kysely<Database>
  let app: FastifyInstance
  let nudges = 0

  beforeAll(async () => {
    db = await migratedDb(infra.databaseUrl)
    app = await buildApp({
      logger: pino({ level: 'silent' }),
      health: new Health(),
      metrics: createMetrics(),
      shop: { db, adminToken: TOKEN, onEnqueued: () => nudges++ },
    })
  })

  afterAll(async () => {
    await app?.close()
    await db?.destroy()
  })

  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

  const get = (url: string) => app.inject({ method: 'GET', url })
  const issue = (couponId: number | string, body: unknown) =>
    app.inject({ method: 'POST', url: `/coupons/${couponId}/issue`, payload: body as object })

  async function admin(url: string, payload: object): Promise<Record<string, unknown>> {
    const res = await app.inject({
      method: 'POST',
      url,
      payload,
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json()
  }

  const newUser = async (name = 'user') =>
    (await admin('/admin/users', { name, points: 1000 })).userId as number
  const newCoupon = async (overrides: object = {}) =>
    (
      await admin('/admin/coupons', {
        name: '10% off',
        discountType: 'RATE',
        discountValue: 10,
        totalQuantity: 100,
        ...overrides,
      })
    ).couponId as number

  const newProduct = async (overrides: object = {}) =>
    (await admin('/admin/products', { name: 'Keyboard', price: 1000, stock: 10, ...overrides }))
      .productId as number

  /** A unit the coupon processor would have written: id = couponId * 1,000,000 + ordinal. */
  async function holdCoupon(userId: number, couponId: number, ordinal = 1, issuedAt = new Date()) {
    const id = couponId * 1_000_000 + ordinal
    await db
      .insertInto('user_coupons')
      .values({ id, user_id: userId, coupon_id: couponId, issued_at: issuedAt })
      .execute()
    return id
  }

  const requestRows = (couponId: number) =>
    db.selectFrom('coupon_issue_requests').selectAll().where('coupon_id', '=', String(couponId)).execute()
  const outboxRows = async (couponId: number) =>
    (await pendingOutputs(db)).filter((r) => r.key?.equals(Buffer.from(String(couponId))))

  /** The app, the database and how often the API nudged the relay (live values). */
  const api = {
    get app() {
      return app
    },
    get db() {
      return db
    },
    get nudges() {
      return nudges
    },
    resetNudges() {
      nudges = 0
    },
  }
  return {
    get,
    issue,
    admin,
    newUser,
    newCoupon,
    newProduct,
    holdCoupon,
    requestRows,
    outboxRows,
    UUID,
    TOKEN,
    api,
  }
}
