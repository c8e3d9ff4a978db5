import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { ShopHeaders } from '../../processors/shop-headers.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import type { Database } from '../../state/schema.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const TOKEN = 'admin-token-for-tests-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }
let db: Kysely<Database>
let app: FastifyInstance
let appWithoutAdmin: FastifyInstance

const build = (adminToken?: string) =>
  buildApp({
    logger: pino({ level: 'silent' }),
    health: new Health(),
    metrics: createMetrics(),
    shop: adminToken ? { db, adminToken } : { db },
  })

beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
  app = await build(TOKEN)
  appWithoutAdmin = await build()
})

afterAll(async () => {
  await app?.close()
  await appWithoutAdmin?.close()
  await db?.destroy()
})

const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers })

const coupon = (overrides: Record<string, unknown> = {}) => ({
  name: '10% off',
  discountType: 'RATE',
  discountValue: 10,
  totalQuantity: 100,
  ...overrides,
})

describe('admin authentication', () => {
  const routes: Array<[string, unknown]> = [
    ['/admin/users', { name: 'x', points: 1 }],
    ['/admin/coupons', coupon()],
    ['/admin/users/1/points', { amount: 1 }],
    ['/admin/products', { name: 'x', price: 1, stock: 1 }],
  ]

  it.each(routes)('POST %s should answer 401 UNAUTHORIZED without a token', async (url, body) => {
    const res = await post(url, body, {})
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED' })
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it.each([
    ['a wrong token', `Bearer ${TOKEN.slice(0, -1)}x`],
    ['a longer token', `Bearer ${TOKEN}0`],
    ['an empty token', 'Bearer '],
    ['another scheme', `Basic ${TOKEN}`],
    ['the bare token', TOKEN],
  ])('admin routes should answer 401 UNAUTHORIZED with %s', async (_what, authorization) => {
    const res = await post('/admin/users', { name: 'x', points: 1 }, { authorization })
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('UNAUTHORIZED')
  })

  it('admin routes should check the token before validating the body', async () => {
    const res = await post('/admin/users', { points: -1 }, {})
    expect(res.statusCode).toBe(401)
  })

  it('admin routes should accept the scheme name in any case', async () => {
    const res = await post('/admin/users', { name: 'case', points: 0 }, { authorization: `bearer ${TOKEN}` })
    expect(res.statusCode).toBe(201)
  })

  it.each(routes)('POST %s should not exist (404) when no admin token is configured', async (url, body) => {
    const res = await appWithoutAdmin.inject({ method: 'POST', url, payload: body as object, headers: auth })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('NOT_FOUND')
  })

  it('the shop routes should be served without an admin token configured', async () => {
    const res = await appWithoutAdmin.inject({ method: 'GET', url: '/users/999999' })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('USER_NOT_FOUND')
  })
})

describe('POST /admin/users', () => {
  it('POST /admin/users should create a user and answer 201 with its id', async () => {
    const res = await post('/admin/users', { name: 'Alice', points: 50_000 })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body).toEqual({ userId: expect.any(Number), name: 'Alice', points: 50_000 })
    expect(Number.isInteger(body.userId) && body.userId > 0).toBe(true)
    const row = await db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', String(body.userId))
      .executeTakeFirst()
    expect(row).toMatchObject({ name: 'Alice', points: '50000' })
  })

  it('POST /admin/users should ignore unknown fields', async () => {
    const res = await post('/admin/users', { name: 'Bob', points: 0, nickname: 'bobby' })
    expect(res.statusCode).toBe(201)
    expect(res.json()).toEqual({ userId: expect.any(Number), name: 'Bob', points: 0 })
  })

  it.each([
    ['a missing name', { points: 1 }, 'body.name'],
    ['an empty name', { name: '', points: 1 }, 'body.name'],
    ['missing points', { name: 'x' }, 'body.points'],
    ['negative points', { name: 'x', points: -1 }, 'body.points'],
    ['fractional points', { name: 'x', points: 1.5 }, 'body.points'],
    ['non-numeric points', { name: 'x', points: 'abc' }, 'body.points'],
  ])('POST /admin/users should answer 400 VALIDATION_FAILED for %s', async (_what, body, field) => {
    const res = await post('/admin/users', body)
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    expect(res.json().message).toContain(field)
  })

  it('POST /admin/users should answer 400 VALIDATION_FAILED for a body that is not JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/users',
      payload: '{"name": "x", "points":',
      headers: { ...auth, 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
  })
})

describe('POST /admin/coupons', () => {
  it('POST /admin/coupons should create a coupon with every field and answer 201', async () => {
    const expiresAt = '2031-01-02T03:04:05.000Z'
    const res = await post('/admin/coupons', coupon({ expiresAt, minOrderAmount: 10_000 }))
    expect(res.statusCode).toBe(201)
    expect(res.json()).toEqual({
      couponId: expect.any(Number),
      name: '10% off',
      discountType: 'RATE',
      discountValue: 10,
      totalQuantity: 100,
      issuedQuantity: 0,
      remainingQuantity: 100,
      expiresAt,
      minOrderAmount: 10_000,
    })
    const row = await db
      .selectFrom('coupons')
      .selectAll()
      .where('id', '=', String(res.json().couponId))
      .executeTakeFirstOrThrow()
    expect(row.expires_at?.toISOString()).toBe(expiresAt)
  })

  it('POST /admin/coupons should default to no expiry and no minimum order amount', async () => {
    const res = await post(
      '/admin/coupons',
      coupon({ name: '5,000 won', discountType: 'AMOUNT', discountValue: 5000, totalQuantity: 999_999 }),
    )
    expect(res.statusCode).toBe(201)
    expect(res.json()).toMatchObject({
      discountType: 'AMOUNT',
      discountValue: 5000,
      totalQuantity: 999_999,
      remainingQuantity: 999_999,
      expiresAt: null,
      minOrderAmount: null,
    })
  })

  it('POST /admin/coupons should accept an expiresAt with an offset and store the same instant', async () => {
    const res = await post('/admin/coupons', coupon({ expiresAt: '2031-01-02T12:00:00+09:00' }))
    expect(res.statusCode).toBe(201)
    expect(res.json().expiresAt).toBe('2031-01-02T03:00:00.000Z')
  })

  it.each([
    ['a RATE of 150', { discountValue: 150 }, 'body.discountValue'],
    ['a discount of 0', { discountValue: 0 }, 'body.discountValue'],
    ['a fractional discount', { discountValue: 1.5 }, 'body.discountValue'],
    ['an unknown discount type', { discountType: 'PERCENT' }, 'body.discountType'],
    ['a quantity of 0', { totalQuantity: 0 }, 'body.totalQuantity'],
    ['a quantity of 1,000,000', { totalQuantity: 1_000_000 }, 'body.totalQuantity'],
    ['an expiresAt that is not a date-time', { expiresAt: 'tomorrow' }, 'body.expiresAt'],
    ['an expiresAt without a time zone', { expiresAt: '2031-01-02T03:04:05' }, 'body.expiresAt'],
    ['a negative minimum order amount', { minOrderAmount: -1 }, 'body.minOrderAmount'],
    ['a missing name', { name: undefined }, 'body.name'],
    ['a missing totalQuantity', { totalQuantity: undefined }, 'body.totalQuantity'],
  ])('POST /admin/coupons should answer 400 VALIDATION_FAILED for %s', async (_what, overrides, field) => {
    const res = await post('/admin/coupons', coupon(overrides))
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    expect(res.json().message).toContain(field)
  })

  it('POST /admin/coupons should say a RATE is at most 100', async () => {
    const res = await post('/admin/coupons', coupon({ discountValue: 101 }))
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('body.discountValue: must be <= 100')
  })

  it('POST /admin/coupons should accept an AMOUNT above 100 (the 1..100 bound is for RATE only)', async () => {
    const res = await post('/admin/coupons', coupon({ discountType: 'AMOUNT', discountValue: 150 }))
    expect(res.statusCode).toBe(201)
  })
})

describe('POST /admin/users/:userId/points', () => {
  const USER_COMMANDS = 'commerce-streams-user-commands'
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  const chargeRows = (userId: number) =>
    db
      .selectFrom('outbox')
      .selectAll()
      .where('topic', '=', USER_COMMANDS)
      .where('key', '=', Buffer.from(String(userId)))
      .orderBy('id')
      .execute()

  it('POST /admin/users/:userId/points should answer 202 and write a charge command for the user owner', async () => {
    const { userId } = (await post('/admin/users', { name: 'Carol', points: 100 })).json()
    const res = await post(`/admin/users/${userId}/points`, { amount: 250 })
    expect(res.statusCode).toBe(202)
    const { chargeId } = res.json()
    expect(res.json()).toEqual({ chargeId: expect.stringMatching(UUID), userId, amount: 250 })
    const rows = await chargeRows(userId)
    expect(rows).toHaveLength(1)
    expect(JSON.parse(rows[0]!.value.toString())).toEqual({ kind: 'charge', chargeId, userId, amount: 250 })
    expect(headersAsText(rows[0]!.headers)).toEqual({ [ShopHeaders.OUTPUT_ID]: `api/charge/${chargeId}` })
    // The owner applies it: the API itself never writes the balance.
    const user = await app.inject({ method: 'GET', url: `/users/${userId}` })
    expect(user.json().points).toBe(100)
  })

  it('POST /admin/users/:userId/points should write one command per charge for concurrent charges', async () => {
    const { userId } = (await post('/admin/users', { name: 'Dave', points: 0 })).json()
    const results = await Promise.all(
      Array.from({ length: 20 }, () => post(`/admin/users/${userId}/points`, { amount: 5 })),
    )
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(202))
    const rows = await chargeRows(userId)
    const commands = rows.map((r) => JSON.parse(r.value.toString()))
    expect(new Set(commands.map((c) => c.chargeId))).toEqual(new Set(results.map((r) => r.json().chargeId)))
    expect(commands.reduce((sum, c) => sum + c.amount, 0)).toBe(100)
  })

  it('POST /admin/users/:userId/points should write the charge to the topic it is configured with', async () => {
    const topic = 'shop-a-user-commands'
    const other = await buildApp({
      logger: pino({ level: 'silent' }),
      health: new Health(),
      metrics: createMetrics(),
      shop: { db, adminToken: TOKEN, userCommandsTopic: topic },
    })
    try {
      const { userId } = (await post('/admin/users', { name: 'Erin', points: 0 })).json()
      const res = await other.inject({
        method: 'POST',
        url: `/admin/users/${userId}/points`,
        payload: { amount: 7 },
        headers: auth,
      })
      expect(res.statusCode).toBe(202)
      const rows = await db.selectFrom('outbox').select('key').where('topic', '=', topic).execute()
      expect(rows.map((r) => r.key?.toString())).toEqual([String(userId)])
    } finally {
      await other.close()
    }
  })

  it('POST /admin/users/:userId/points should answer 404 USER_NOT_FOUND for an unknown user', async () => {
    const res = await post('/admin/users/987654321/points', { amount: 1 })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('USER_NOT_FOUND')
    expect(await chargeRows(987654321)).toEqual([])
  })

  it.each([
    ['an amount of 0', '1', { amount: 0 }, 'body.amount'],
    ['a negative amount', '1', { amount: -5 }, 'body.amount'],
    ['a missing amount', '1', {}, 'body.amount'],
    ['a userId that is not a number', 'abc', { amount: 1 }, 'params.userId'],
    ['a userId of 0', '0', { amount: 1 }, 'params.userId'],
  ])(
    'POST /admin/users/:userId/points should answer 400 VALIDATION_FAILED for %s',
    async (_what, userId, body, field) => {
      const res = await post(`/admin/users/${userId}/points`, body)
      expect(res.statusCode).toBe(400)
      expect(res.json().code).toBe('VALIDATION_FAILED')
      expect(res.json().message).toContain(field)
    },
  )

  it('POST /admin/users/:userId/points should refuse a charge that would take the balance past 2^53 - 1', async () => {
    const { userId } = (
      await post('/admin/users', { name: 'Rich', points: Number.MAX_SAFE_INTEGER - 10 })
    ).json()
    const res = await post(`/admin/users/${userId}/points`, { amount: 11 })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('amount'),
    })
    expect(await chargeRows(userId)).toEqual([])
    const ok = await post(`/admin/users/${userId}/points`, { amount: 10 })
    expect(ok.statusCode).toBe(202)
    expect(await chargeRows(userId)).toHaveLength(1)
  })
})
