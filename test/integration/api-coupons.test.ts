import { beforeEach, describe, expect, it } from 'vitest'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { useApiFixture } from '../support/api-fixture.ts'

const { get, issue, newUser, newCoupon, holdCoupon, requestRows, outboxRows, UUID, api } = useApiFixture()

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
    await api.db
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
    await api.db
      .updateTable('coupons')
      .set({ issued_quantity: 3 })
      .where('id', '=', String(couponId))
      .execute()
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
    api.resetNudges()
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
    expect(api.nudges).toBe(1)

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
    expect(api.nudges).toBe(30)
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
    expect(api.nudges).toBe(0)
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
    const res = await api.app.inject({
      method: 'POST',
      url: '/coupons/1/issue',
      payload: '{"userId": ',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
  })
})
