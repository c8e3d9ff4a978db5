import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import pino from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import type { Database } from '../../state/schema.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

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
const outboxRows = (couponId: number) =>
  db
    .selectFrom('outbox')
    .selectAll()
    .where('key', '=', Buffer.from(String(couponId)))
    .orderBy('id')
    .execute()

describe('GET /users/:userId', () => {
  it('GET /users/:userId should answer the user and their balance', async () => {
    const userId = await newUser('Erin')
    const res = await get(`/users/${userId}`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ userId, name: 'Erin', points: 1000 })
  })

  it('GET /users/:userId should answer 404 USER_NOT_FOUND for an unknown user', async () => {
    const res = await get('/users/987654321')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ code: 'USER_NOT_FOUND', message: expect.any(String) })
  })

  it.each(['abc', '0', '-1', '1.5', '9007199254740992'])(
    'GET /users/:userId should answer 400 VALIDATION_FAILED naming userId for "%s"',
    async (userId) => {
      const res = await get(`/users/${userId}`)
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('params.userId'),
      })
    },
  )
})

describe('GET /users/:userId/coupons', () => {
  it('GET /users/:userId/coupons should answer an empty list for a user without coupons', async () => {
    const res = await get(`/users/${await newUser()}/coupons`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([])
  })

  it('GET /users/:userId/coupons should list the coupons held, oldest first, with their terms', async () => {
    const userId = await newUser()
    const other = await newUser()
    const rate = await newCoupon({ name: 'rate' })
    const amount = await newCoupon({ name: 'amount', discountType: 'AMOUNT', discountValue: 3000 })
    const first = await holdCoupon(userId, amount, 7, new Date('2030-01-01T00:00:00Z'))
    const second = await holdCoupon(userId, rate, 1, new Date('2030-01-02T00:00:00Z'))
    await holdCoupon(other, rate, 2)
    await db
      .updateTable('user_coupons')
      .set({ used: true, used_at: '2030-01-03T00:00:00Z' })
      .where('id', '=', String(first))
      .execute()

    const res = await get(`/users/${userId}/coupons`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([
      {
        userCouponId: first,
        couponId: amount,
        name: 'amount',
        discountType: 'AMOUNT',
        discountValue: 3000,
        used: true,
        issuedAt: '2030-01-01T00:00:00.000Z',
        usedAt: '2030-01-03T00:00:00.000Z',
      },
      {
        userCouponId: second,
        couponId: rate,
        name: 'rate',
        discountType: 'RATE',
        discountValue: 10,
        used: false,
        issuedAt: '2030-01-02T00:00:00.000Z',
        usedAt: null,
      },
    ])
  })

  it('GET /users/:userId/coupons should answer 404 USER_NOT_FOUND for an unknown user', async () => {
    const res = await get('/users/987654321/coupons')
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('USER_NOT_FOUND')
  })

  it('GET /users/:userId/coupons should answer 400 VALIDATION_FAILED naming userId', async () => {
    const res = await get('/users/abc/coupons')
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('params.userId')
  })
})

describe('GET /coupons/:couponId', () => {
  it('GET /coupons/:couponId should answer the coupon with its issued and remaining quantities', async () => {
    const couponId = await newCoupon({ name: 'drop', totalQuantity: 10, expiresAt: '2031-05-05T00:00:00Z' })
    await db.updateTable('coupons').set({ issued_quantity: 3 }).where('id', '=', String(couponId)).execute()
    const res = await get(`/coupons/${couponId}`)
    expect(res.statusCode).toBe(200)
    // The shop's view: no minOrderAmount.
    expect(res.json()).toEqual({
      couponId,
      name: 'drop',
      discountType: 'RATE',
      discountValue: 10,
      totalQuantity: 10,
      issuedQuantity: 3,
      remainingQuantity: 7,
      expiresAt: '2031-05-05T00:00:00.000Z',
    })
  })

  it('GET /coupons/:couponId should answer 404 COUPON_NOT_FOUND for an unknown coupon', async () => {
    const res = await get('/coupons/987654321')
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('COUPON_NOT_FOUND')
  })

  it('GET /coupons/:couponId should answer 400 VALIDATION_FAILED naming couponId', async () => {
    const res = await get('/coupons/first')
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('params.couponId')
  })
})

describe('POST /coupons/:couponId/issue', () => {
  beforeEach(() => {
    nudges = 0
  })

  it('POST /coupons/:couponId/issue should answer 202 PENDING and write one request row and one outbox record', async () => {
    const userId = await newUser()
    const couponId = await newCoupon()
    const before = Date.now()
    const res = await issue(couponId, { userId })
    expect(res.statusCode).toBe(202)
    const { requestId, status } = res.json()
    expect(status).toBe('PENDING')
    expect(requestId).toMatch(UUID)
    expect(nudges).toBe(1)

    const requests = await requestRows(couponId)
    expect(requests).toEqual([
      expect.objectContaining({
        request_id: requestId,
        coupon_id: String(couponId),
        user_id: String(userId),
        status: 'PENDING',
        reason: null,
        user_coupon_id: null,
        decided_at: null,
      }),
    ])

    const outbox = await outboxRows(couponId)
    expect(outbox).toHaveLength(1)
    const [record] = outbox
    expect(record!.topic).toBe('coupon-issue-topic')
    expect(record!.key).toEqual(Buffer.from(String(couponId)))
    // accepted-by: the processor judges the expiry at requestedAt, not when the relay published it.
    expect(headersAsText(record!.headers)).toEqual({
      'commerce.output-id': `api/${requestId}`,
      'commerce.accepted-by': 'api',
    })
    const value = JSON.parse(record!.value.toString('utf8'))
    expect(value).toEqual({ requestId, userId, couponId, requestedAt: expect.any(String) })
    const requestedAt = Date.parse(value.requestedAt)
    expect(requestedAt).toBeGreaterThanOrEqual(before)
    expect(requestedAt).toBeLessThanOrEqual(Date.now())
    expect(new Date(value.requestedAt).toISOString()).toBe(value.requestedAt)
    expect(requests[0]!.requested_at.toISOString()).toBe(value.requestedAt)
  })

  it('POST /coupons/:couponId/issue should give each of many concurrent requests its own id, row and record', async () => {
    const couponId = await newCoupon({ totalQuantity: 5 })
    const users = await Promise.all(Array.from({ length: 30 }, () => newUser()))
    const results = await Promise.all(users.map((userId) => issue(couponId, { userId })))
    expect(results.map((r) => r.statusCode)).toEqual(Array(30).fill(202))
    const ids = new Set(results.map((r) => r.json().requestId))
    expect(ids.size).toBe(30)
    // More requests than units: sold-out is the processor's call, not the API's.
    expect((await requestRows(couponId)).map((r) => r.request_id).sort()).toEqual([...ids].sort())
    expect(await outboxRows(couponId)).toHaveLength(30)
    expect(nudges).toBe(30)
  })

  it('POST /coupons/:couponId/issue should accept a coupon that expires in the future', async () => {
    const couponId = await newCoupon({ expiresAt: new Date(Date.now() + 3_600_000).toISOString() })
    const res = await issue(couponId, { userId: await newUser() })
    expect(res.statusCode).toBe(202)
  })

  it('POST /coupons/:couponId/issue should ignore unknown body fields', async () => {
    const couponId = await newCoupon()
    const res = await issue(couponId, { userId: await newUser(), channel: 'app' })
    expect(res.statusCode).toBe(202)
  })

  async function expectRefused(couponId: number, userId: number, status: number, code: string) {
    const res = await issue(couponId, { userId })
    expect(res.statusCode).toBe(status)
    expect(res.json()).toEqual({ code, message: expect.any(String) })
    expect(await requestRows(couponId)).toHaveLength(0)
    expect(await outboxRows(couponId)).toHaveLength(0)
    expect(nudges).toBe(0)
  }

  it('POST /coupons/:couponId/issue should answer 404 USER_NOT_FOUND and write nothing for an unknown user', async () => {
    await expectRefused(await newCoupon(), 987654321, 404, 'USER_NOT_FOUND')
  })

  it('POST /coupons/:couponId/issue should answer 404 COUPON_NOT_FOUND and write nothing for an unknown coupon', async () => {
    await expectRefused(987654321, await newUser(), 404, 'COUPON_NOT_FOUND')
  })

  it('POST /coupons/:couponId/issue should check the user before the coupon, as the seed does', async () => {
    const res = await issue(987654321, { userId: 987654321 })
    expect(res.json().code).toBe('USER_NOT_FOUND')
  })

  it('POST /coupons/:couponId/issue should answer 409 COUPON_ALREADY_ISSUED to a user who holds the coupon', async () => {
    const userId = await newUser()
    const couponId = await newCoupon()
    await holdCoupon(userId, couponId)
    await expectRefused(couponId, userId, 409, 'COUPON_ALREADY_ISSUED')
    // Another user still gets in.
    expect((await issue(couponId, { userId: await newUser() })).statusCode).toBe(202)
  })

  it('POST /coupons/:couponId/issue should answer 410 COUPON_EXPIRED for an expired coupon', async () => {
    const couponId = await newCoupon({ expiresAt: new Date(Date.now() - 60_000).toISOString() })
    await expectRefused(couponId, await newUser(), 410, 'COUPON_EXPIRED')
  })

  it.each([
    ['a userId that is not a number', { userId: 'abc' }, 'body.userId'],
    ['a missing userId', {}, 'body.userId'],
    ['a userId of 0', { userId: 0 }, 'body.userId'],
    ['a fractional userId', { userId: 1.5 }, 'body.userId'],
  ])(
    'POST /coupons/:couponId/issue should answer 400 VALIDATION_FAILED for %s',
    async (_what, body, field) => {
      const res = await issue(1, body)
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) })
    },
  )

  it('POST /coupons/:couponId/issue should answer 400 VALIDATION_FAILED naming couponId for a bad path', async () => {
    const res = await issue('x', { userId: 1 })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('params.couponId')
  })

  it('POST /coupons/:couponId/issue should answer 400 VALIDATION_FAILED for a body that is not JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/coupons/1/issue',
      payload: '{"userId": ',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
  })
})

describe('POST /coupons/:couponId/issue under load', () => {
  it('POST /coupons/:couponId/issue should share statements among concurrent requests and answer each one its own verdict', async () => {
    const sizes: number[] = []
    const batching = await buildApp({
      logger: pino({ level: 'silent' }),
      health: new Health(),
      metrics: createMetrics(),
      shop: { db, issueQueue: { maxInFlight: 1, onBatch: (n) => sizes.push(n) } },
    })
    try {
      const open = await newCoupon()
      const other = await newCoupon()
      const expired = await newCoupon({ expiresAt: new Date(Date.now() - 1_000).toISOString() })
      const users = await Promise.all(Array.from({ length: 12 }, () => newUser()))
      await holdCoupon(users[0]!, open)
      // [couponId, userId, expected status, expected code]
      const cases: Array<[number, number, number, string | undefined]> = [
        ...users.map((u, i): [number, number, number, string | undefined] =>
          i === 0 ? [open, u, 409, 'COUPON_ALREADY_ISSUED'] : [open, u, 202, undefined],
        ),
        ...users
          .slice(0, 6)
          .map((u): [number, number, number, string | undefined] => [other, u, 202, undefined]),
        [open, 987654321, 404, 'USER_NOT_FOUND'],
        [987654321, users[1]!, 404, 'COUPON_NOT_FOUND'],
        [expired, users[2]!, 410, 'COUPON_EXPIRED'],
        [open, users[3]!, 202, undefined], // the same user twice: the processor, not the API, says no
      ]
      const responses = await Promise.all(
        cases.map(([couponId, userId]) =>
          batching.inject({ method: 'POST', url: `/coupons/${couponId}/issue`, payload: { userId } }),
        ),
      )

      expect(sizes[0]).toBe(1) // the first request did not wait for company
      expect(sizes.length).toBeLessThan(cases.length)
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(cases.length)
      for (const [i, [couponId, userId, status, code]] of cases.entries()) {
        const res = responses[i]!
        expect(res.statusCode, `${couponId}/${userId}`).toBe(status)
        if (code) {
          expect(res.json().code).toBe(code)
          continue
        }
        // Each accepted request has its own row and its own record, carrying its own user.
        const { requestId } = res.json()
        const row = await db
          .selectFrom('coupon_issue_requests')
          .selectAll()
          .where('request_id', '=', requestId)
          .executeTakeFirstOrThrow()
        expect([row.coupon_id, row.user_id, row.status]).toEqual([
          String(couponId),
          String(userId),
          'PENDING',
        ])
        const records = (await db.selectFrom('outbox').selectAll().execute()).filter(
          (r) => headersAsText(r.headers)['commerce.output-id'] === `api/${requestId}`,
        )
        expect(records).toHaveLength(1)
        expect(records[0]!.key).toEqual(Buffer.from(String(couponId)))
        expect(JSON.parse(records[0]!.value.toString())).toMatchObject({ requestId, userId, couponId })
      }
      const accepted = cases.filter(([, , status]) => status === 202).length
      const total = (await requestRows(open)).length + (await requestRows(other)).length
      expect(total).toBe(accepted)
      expect((await outboxRows(open)).length + (await outboxRows(other)).length).toBe(accepted)
      expect(await requestRows(expired)).toHaveLength(0)
    } finally {
      await batching.close()
    }
  })
})

describe('GET /coupons/:couponId/requests/:requestId', () => {
  async function accepted() {
    const userId = await newUser()
    const couponId = await newCoupon()
    const { requestId } = (await issue(couponId, { userId })).json()
    return { userId, couponId, requestId: requestId as string }
  }

  it('GET /coupons/:couponId/requests/:requestId should answer a PENDING request without reason or userCouponId', async () => {
    const { userId, couponId, requestId } = await accepted()
    const res = await get(`/coupons/${couponId}/requests/${requestId}`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ requestId, couponId, userId, status: 'PENDING' })
  })

  it('GET /coupons/:couponId/requests/:requestId should answer an ISSUED request with its userCouponId', async () => {
    const { userId, couponId, requestId } = await accepted()
    const userCouponId = couponId * 1_000_000 + 1
    await db
      .updateTable('coupon_issue_requests')
      .set({ status: 'ISSUED', user_coupon_id: userCouponId, decided_at: new Date() })
      .where('request_id', '=', requestId)
      .execute()
    const res = await get(`/coupons/${couponId}/requests/${requestId}`)
    expect(res.json()).toEqual({ requestId, couponId, userId, status: 'ISSUED', userCouponId })
  })

  it('GET /coupons/:couponId/requests/:requestId should answer a REJECTED request with its reason', async () => {
    const { userId, couponId, requestId } = await accepted()
    await db
      .updateTable('coupon_issue_requests')
      .set({ status: 'REJECTED', reason: 'SOLD_OUT', decided_at: new Date() })
      .where('request_id', '=', requestId)
      .execute()
    const res = await get(`/coupons/${couponId}/requests/${requestId}`)
    expect(res.json()).toEqual({ requestId, couponId, userId, status: 'REJECTED', reason: 'SOLD_OUT' })
  })

  it('GET /coupons/:couponId/requests/:requestId should find requests whose id the processor derived', async () => {
    const couponId = await newCoupon()
    const requestId = 'coupon-issue-topic-2-41'
    await db
      .insertInto('coupon_issue_requests')
      .values({
        request_id: requestId,
        coupon_id: couponId,
        user_id: 5,
        status: 'REJECTED',
        reason: 'USER_NOT_FOUND',
      })
      .execute()
    const res = await get(`/coupons/${couponId}/requests/${requestId}`)
    expect(res.json()).toEqual({
      requestId,
      couponId,
      userId: 5,
      status: 'REJECTED',
      reason: 'USER_NOT_FOUND',
    })
  })

  it('GET /coupons/:couponId/requests/:requestId should answer 404 REQUEST_NOT_FOUND for an unknown request', async () => {
    const couponId = await newCoupon()
    const res = await get(`/coupons/${couponId}/requests/${crypto.randomUUID()}`)
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('REQUEST_NOT_FOUND')
  })

  it('GET /coupons/:couponId/requests/:requestId should answer 404 REQUEST_NOT_FOUND for a request of another coupon', async () => {
    const { requestId } = await accepted()
    const other = await newCoupon()
    const res = await get(`/coupons/${other}/requests/${requestId}`)
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('REQUEST_NOT_FOUND')
  })

  it('GET /coupons/:couponId/requests/:requestId should answer 400 VALIDATION_FAILED naming a bad couponId', async () => {
    const res = await get(`/coupons/0/requests/${crypto.randomUUID()}`)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('params.couponId')
  })
})

describe('OpenAPI document', () => {
  it('/docs/json should list every shop and admin route with its tag, and bearer security on admin routes', async () => {
    const res = await get('/docs/json')
    expect(res.statusCode).toBe(200)
    const doc = res.json() as {
      openapi: string
      paths: Record<string, Record<string, { tags?: string[]; security?: unknown; responses: object }>>
      components: { securitySchemes: object }
    }
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })),
    )
    const byRoute = new Map(operations.map(({ route, op }) => [route, op]))
    const expected: Array<[string, string, string[]]> = [
      ['POST /admin/users', 'admin', ['201', '400', '401']],
      ['POST /admin/coupons', 'admin', ['201', '400', '401']],
      ['POST /admin/users/{userId}/points', 'admin', ['200', '400', '401', '404']],
      ['GET /users/{userId}', 'shop', ['200', '400', '404']],
      ['GET /users/{userId}/coupons', 'shop', ['200', '400', '404']],
      ['GET /coupons/{couponId}', 'shop', ['200', '400', '404']],
      ['POST /coupons/{couponId}/issue', 'shop', ['202', '400', '404', '409', '410', '503']],
      ['GET /coupons/{couponId}/requests/{requestId}', 'shop', ['200', '400', '404']],
    ]
    for (const [route, tag, statuses] of expected) {
      const op = byRoute.get(route)
      expect(op, route).toBeDefined()
      expect(op!.tags, route).toEqual([tag])
      expect(Object.keys(op!.responses).sort(), route).toEqual(statuses)
      if (tag === 'admin') expect(op!.security, route).toEqual([{ adminToken: [] }])
      else expect(op!.security, route).toBeUndefined()
    }
    expect(doc.components.securitySchemes).toEqual({ adminToken: { type: 'http', scheme: 'bearer' } })
  })
})
