import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { useApiFixture } from '../support/api-fixture.ts'

const { get, issue, newUser, newCoupon, holdCoupon, requestRows, outboxRows, api } = useApiFixture()

describe('POST /coupons/:couponId/issue under load', () => {
  it('POST /coupons/:couponId/issue should share statements among concurrent requests and answer each one its own verdict', async () => {
    const sizes: number[] = []
    const batching = await buildApp({
      logger: pino({ level: 'silent' }),
      health: new Health(),
      metrics: createMetrics(),
      shop: { db: api.db, issueQueue: { maxInFlight: 1, onBatch: (n) => sizes.push(n) } },
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
        const row = await api.db
          .selectFrom('coupon_issue_requests')
          .selectAll()
          .where('request_id', '=', requestId)
          .executeTakeFirstOrThrow()
        expect([row.coupon_id, row.user_id, row.status]).toEqual([
          String(couponId),
          String(userId),
          'PENDING',
        ])
        const records = (await pendingOutputs(api.db)).filter(
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
    await api.db
      .updateTable('coupon_issue_requests')
      .set({ status: 'ISSUED', user_coupon_id: userCouponId, decided_at: new Date() })
      .where('request_id', '=', requestId)
      .execute()
    const res = await get(`/coupons/${couponId}/requests/${requestId}`)
    expect(res.json()).toEqual({ requestId, couponId, userId, status: 'ISSUED', userCouponId })
  })

  it('GET /coupons/:couponId/requests/:requestId should answer a REJECTED request with its reason', async () => {
    const { userId, couponId, requestId } = await accepted()
    await api.db
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
    await api.db
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
      ['POST /admin/users/{userId}/points', 'admin', ['202', '400', '401', '404']],
      ['POST /admin/products', 'admin', ['201', '400', '401']],
      ['GET /users/{userId}', 'shop', ['200', '400', '404']],
      ['GET /users/{userId}/coupons', 'shop', ['200', '400', '404']],
      ['GET /coupons/{couponId}', 'shop', ['200', '400', '404']],
      ['POST /coupons/{couponId}/issue', 'shop', ['200', '202', '400', '404', '409', '410', '503']],
      ['GET /coupons/{couponId}/requests/{requestId}', 'shop', ['200', '400', '404']],
      ['GET /products', 'shop', ['200', '400']],
      ['GET /products/{productId}', 'shop', ['200', '400', '404']],
      ['GET /users/{userId}/carts', 'shop', ['200', '400', '404']],
      ['PUT /users/{userId}/carts/{productId}', 'shop', ['200', '400', '404']],
      ['DELETE /users/{userId}/carts/{productId}', 'shop', ['200', '400', '404']],
      ['POST /orders', 'shop', ['202', '400', '404', '409']],
      ['GET /orders/{orderId}', 'shop', ['200', '400', '404']],
      ['GET /users/{userId}/orders', 'shop', ['200', '400', '404']],
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
