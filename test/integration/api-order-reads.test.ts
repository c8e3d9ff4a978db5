/** Reading orders on a real PostgreSQL: one order as the saga leaves it, and a user's orders, paged. */
import { describe, expect, it } from 'vitest'
import { useOrderFixture } from '../support/order-fixture.ts'

const { get, newCoupon, newProduct, holdCoupon, api, order, userWith } = useOrderFixture()

async function placed(body: object): Promise<number> {
  const res = await order(body)
  expect(res.statusCode, res.body).toBe(202)
  return res.json().orderId
}

describe('GET /orders/:orderId', () => {
  it('GET /orders/:orderId should answer a PENDING order with its items as priced and named when ordered', async () => {
    const userId = await userWith(100_000)
    const productId = await newProduct({ name: 'Kettle', price: 30_000 })
    const userCouponId = await holdCoupon(
      userId,
      await newCoupon({ discountType: 'AMOUNT', discountValue: 4_000 }),
    )
    const orderId = await placed({ userId, userCouponId, items: [{ productId, quantity: 2 }] })
    // A product renamed and repriced later does not change the order.
    await api.db
      .updateTable('products')
      .set({ name: 'Kettle v2', price: 99_000 })
      .where('id', '=', String(productId))
      .execute()

    const res = await get(`/orders/${orderId}`)

    expect(res.statusCode).toBe(200)
    const row = await api.db
      .selectFrom('orders')
      .select('created_at')
      .where('id', '=', String(orderId))
      .executeTakeFirstOrThrow()
    expect(res.json()).toEqual({
      orderId,
      userId,
      status: 'PENDING',
      items: [{ productId, name: 'Kettle', price: 30_000, quantity: 2 }],
      totalAmount: 60_000,
      discountAmount: 4_000,
      finalAmount: 56_000,
      userCouponId,
      createdAt: row.created_at.toISOString(),
    })
  })

  it('GET /orders/:orderId should answer what the saga committed: FAILED with its reason, COMPLETED with its time', async () => {
    const userId = await userWith(100_000)
    const productId = await newProduct()
    const failed = await placed({ userId, items: [{ productId, quantity: 1 }] })
    const completed = await placed({ userId, items: [{ productId, quantity: 1 }] })
    const completedAt = new Date('2030-01-02T03:04:05.678Z')
    await api.db
      .updateTable('orders')
      .set({ status: 'FAILED', failure_reason: 'INSUFFICIENT_STOCK', failed_at: new Date() })
      .where('id', '=', String(failed))
      .execute()
    await api.db
      .updateTable('orders')
      .set({ status: 'COMPLETED', completed_at: completedAt })
      .where('id', '=', String(completed))
      .execute()

    const failedBody = (await get(`/orders/${failed}`)).json()
    expect(failedBody).toMatchObject({
      status: 'FAILED',
      failureReason: 'INSUFFICIENT_STOCK',
      userCouponId: null,
    })
    expect(failedBody).not.toHaveProperty('completedAt')
    const completedBody = (await get(`/orders/${completed}`)).json()
    expect(completedBody).toMatchObject({ status: 'COMPLETED', completedAt: completedAt.toISOString() })
    expect(completedBody).not.toHaveProperty('failureReason')
  })

  it('GET /orders/:orderId should answer 404 ORDER_NOT_FOUND for an unknown order', async () => {
    const res = await get('/orders/987654321')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ code: 'ORDER_NOT_FOUND', message: 'no order 987654321' })
  })

  it.each(['abc', '0', '-3'])(
    'GET /orders/:orderId should answer 400 naming params.orderId for %s',
    async (id) => {
      const res = await get(`/orders/${id}`)
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('params.orderId'),
      })
    },
  )
})

describe('GET /users/:userId/orders', () => {
  it('GET /users/:userId/orders should page through the user’s orders newest first, and only theirs', async () => {
    const userId = await userWith(1_000_000)
    const other = await userWith(1_000_000)
    const productId = await newProduct({ price: 10, stock: 100 })
    const mine: number[] = []
    for (let i = 1; i <= 5; i++) {
      mine.push(await placed({ userId, items: [{ productId, quantity: i }] }))
      await placed({ userId: other, items: [{ productId, quantity: 1 }] })
    }

    const pages: number[][] = []
    let before: number | undefined
    for (;;) {
      const res = await get(`/users/${userId}/orders?limit=2${before ? `&before=${before}` : ''}`)
      expect(res.statusCode).toBe(200)
      const page = res.json() as Array<{ orderId: number; userId: number; items: unknown[] }>
      if (page.length === 0) break
      for (const o of page) expect(o.userId).toBe(userId)
      pages.push(page.map((o) => o.orderId))
      before = page.at(-1)!.orderId
    }
    expect(pages).toEqual([mine.slice(3).reverse(), mine.slice(1, 3).reverse(), [mine[0]]])
    const newest = (await get(`/users/${userId}/orders?limit=1`)).json()[0]
    expect(newest).toMatchObject({ orderId: mine[4], totalAmount: 50, items: [{ productId, quantity: 5 }] })
  })

  it('GET /users/:userId/orders should answer 20 orders when no limit is given', async () => {
    const userId = await userWith(1_000_000)
    const productId = await newProduct({ price: 1, stock: 100 })
    for (let i = 0; i < 21; i++) await placed({ userId, items: [{ productId, quantity: 1 }] })
    expect((await get(`/users/${userId}/orders`)).json()).toHaveLength(20)
  })

  it('GET /users/:userId/orders should answer an empty list for a user without orders', async () => {
    const res = await get(`/users/${await userWith(0)}/orders`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([])
  })

  it('GET /users/:userId/orders should answer 404 USER_NOT_FOUND for an unknown user', async () => {
    const res = await get('/users/987654321/orders')
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('USER_NOT_FOUND')
  })

  it.each([
    ['limit=0', 'querystring.limit'],
    ['limit=101', 'querystring.limit'],
    ['limit=x', 'querystring.limit'],
    ['before=0', 'querystring.before'],
    ['before=abc', 'querystring.before'],
  ])('GET /users/:userId/orders should answer 400 VALIDATION_FAILED for %s', async (query, field) => {
    const res = await get(`/users/1/orders?${query}`)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) })
  })
})
