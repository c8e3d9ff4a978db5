/**
 * POST /orders on a real PostgreSQL: the seed's pre-checks in its order, and the order row, its items
 * and its order-created record written together — or, refused or failed, none of them.
 */
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { parseOrderCreated } from '../../processors/order-messages.ts'
import { ShopHeaders } from '../../processors/shop-headers.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { useApiFixture } from '../support/api-fixture.ts'

const { admin, newUser, newCoupon, newProduct, holdCoupon, api } = useApiFixture()

const order = (body: object) => api.app.inject({ method: 'POST', url: '/orders', payload: body })
const putCart = (userId: number, productId: number, quantity: number) =>
  api.app.inject({ method: 'PUT', url: `/users/${userId}/carts/${productId}`, payload: { quantity } })

const userWith = async (points: number) =>
  (await admin('/admin/users', { name: 'buyer', points })).userId as number

/** What exists for a user: orders, their items, their order-created records, the cart. */
async function footprint(userId: number) {
  const orders = await api.db.selectFrom('orders').selectAll().where('user_id', '=', String(userId)).execute()
  const ids = orders.map((o) => o.id)
  const items = ids.length
    ? await api.db
        .selectFrom('order_items')
        .selectAll()
        .where('order_id', 'in', ids)
        .orderBy('product_id')
        .execute()
    : []
  const records = ids.length
    ? await api.db
        .selectFrom('outbox')
        .selectAll()
        .where('topic', '=', 'order-created-topic')
        .where(
          'key',
          'in',
          ids.map((id) => Buffer.from(id)),
        )
        .execute()
    : []
  const cart = await api.db
    .selectFrom('cart_items')
    .select(['product_id', 'quantity'])
    .where('user_id', '=', String(userId))
    .orderBy('product_id')
    .execute()
  return { orders, items, records, cart }
}

describe('POST /orders: placed', () => {
  it('POST /orders should write the PENDING order, its items and its order-created record, and nudge the relay', async () => {
    const userId = await userWith(50_000)
    const keyboard = await newProduct({ name: 'Keyboard', price: 12_000, stock: 5 })
    const mouse = await newProduct({ name: 'Mouse', price: 3_000, stock: 5 })
    await putCart(userId, mouse, 1)
    api.resetNudges()
    const before = Date.now()

    const res = await order({
      userId,
      items: [
        { productId: keyboard, quantity: 2 },
        { productId: mouse, quantity: 1 },
      ],
    })

    expect(res.statusCode, res.body).toBe(202)
    const { orderId } = res.json()
    expect(res.json()).toEqual({
      orderId: expect.any(Number),
      status: 'PENDING',
      totalAmount: 27_000,
      discountAmount: 0,
      finalAmount: 27_000,
    })
    expect(api.nudges).toBe(1)
    const { orders, items, records, cart } = await footprint(userId)
    expect(orders).toEqual([
      expect.objectContaining({
        id: String(orderId),
        status: 'PENDING',
        origin: 'API',
        saga_step: 'RECEIVED',
        total_amount: '27000',
        discount_amount: '0',
        final_amount: '27000',
        user_coupon_id: null,
        failure_reason: null,
      }),
    ])
    expect(items.map(({ product_name, price, quantity }) => ({ product_name, price, quantity }))).toEqual([
      { product_name: 'Keyboard', price: '12000', quantity: 2 },
      { product_name: 'Mouse', price: '3000', quantity: 1 },
    ])
    expect(records).toHaveLength(1)
    const record = records[0]!
    // The saga's own parser reads it: keyed by the order id, every field as the contract writes it.
    expect(parseOrderCreated(record.value, record.key!.toString())).toEqual({
      orderId,
      userId,
      userCouponId: null,
      finalAmount: 27_000,
      cartItems: [
        { productId: keyboard, quantity: 2 },
        { productId: mouse, quantity: 1 },
      ],
      createdAt: orders[0]!.created_at.toISOString(),
    })
    expect(orders[0]!.created_at.getTime()).toBeGreaterThanOrEqual(before)
    expect(headersAsText(record.headers)).toEqual({ [ShopHeaders.OUTPUT_ID]: `api/order/${orderId}` })
    // Ordered with items: the cart is not touched.
    expect(cart).toEqual([{ product_id: String(mouse), quantity: 1 }])
  })

  it('POST /orders without items should order the cart and clear it in the same transaction', async () => {
    const userId = await userWith(50_000)
    const a = await newProduct({ price: 1_000 })
    const b = await newProduct({ price: 2_000 })
    await putCart(userId, a, 3)
    await putCart(userId, b, 1)

    const res = await order({ userId })

    expect(res.statusCode, res.body).toBe(202)
    expect(res.json()).toMatchObject({ totalAmount: 5_000, finalAmount: 5_000 })
    const { items, records, cart } = await footprint(userId)
    expect(items.map((i) => [Number(i.product_id), i.quantity])).toEqual([
      [a, 3],
      [b, 1],
    ])
    expect(JSON.parse(records[0]!.value.toString()).cartItems).toEqual([
      { productId: a, quantity: 3 },
      { productId: b, quantity: 1 },
    ])
    expect(cart).toEqual([])
  })

  it('POST /orders should sum lines naming one product twice', async () => {
    const userId = await userWith(50_000)
    const productId = await newProduct({ price: 100, stock: 5 })
    const res = await order({
      userId,
      items: [
        { productId, quantity: 2 },
        { productId, quantity: 3 },
      ],
    })
    expect(res.statusCode, res.body).toBe(202)
    expect(res.json().totalAmount).toBe(500)
    const { items, records } = await footprint(userId)
    expect(items.map((i) => i.quantity)).toEqual([5])
    expect(JSON.parse(records[0]!.value.toString()).cartItems).toEqual([{ productId, quantity: 5 }])
  })

  it('POST /orders should check stock against the summed lines', async () => {
    const userId = await userWith(50_000)
    const productId = await newProduct({ price: 100, stock: 4 })
    const res = await order({
      userId,
      items: [
        { productId, quantity: 2 },
        { productId, quantity: 3 },
      ],
    })
    expect(res.statusCode).toBe(409)
    expect(res.json().code).toBe('INSUFFICIENT_STOCK')
  })

  it.each([
    ['RATE 15%', { discountType: 'RATE', discountValue: 15 }, 3_350, 502, 2_848],
    ['AMOUNT 5,000 on 3,350', { discountType: 'AMOUNT', discountValue: 5_000 }, 3_350, 3_350, 0],
    ['AMOUNT 1,000', { discountType: 'AMOUNT', discountValue: 1_000 }, 3_350, 1_000, 2_350],
  ])(
    'POST /orders should apply a %s coupon and carry it in the record',
    async (_w, terms, total, discount, final) => {
      const userId = await userWith(final)
      const productId = await newProduct({ price: 3_350 })
      const userCouponId = await holdCoupon(userId, await newCoupon(terms))
      const res = await order({ userId, userCouponId, items: [{ productId, quantity: 1 }] })
      expect(res.statusCode, res.body).toBe(202)
      expect(res.json()).toMatchObject({ totalAmount: total, discountAmount: discount, finalAmount: final })
      const { orders, records } = await footprint(userId)
      expect(orders[0]).toMatchObject({ user_coupon_id: String(userCouponId), final_amount: String(final) })
      expect(JSON.parse(records[0]!.value.toString())).toMatchObject({ userCouponId, finalAmount: final })
    },
  )

  it('POST /orders should write to the order topic it is configured with (the deployment prefix)', async () => {
    const { buildApp } = await import('../../api/app.ts')
    const { Health } = await import('../../service/health.ts')
    const { createMetrics } = await import('../../service/metrics.ts')
    const pino = (await import('pino')).default
    const prefixed = await buildApp({
      logger: pino({ level: 'silent' }),
      health: new Health(),
      metrics: createMetrics(),
      shop: { db: api.db, orderTopic: 'shop-b.order-created-topic' },
    })
    try {
      const userId = await userWith(1_000)
      const productId = await newProduct({ price: 10 })
      const res = await prefixed.inject({
        method: 'POST',
        url: '/orders',
        payload: { userId, items: [{ productId, quantity: 1 }] },
      })
      expect(res.statusCode, res.body).toBe(202)
      const rows = await api.db
        .selectFrom('outbox')
        .select('key')
        .where('topic', '=', 'shop-b.order-created-topic')
        .execute()
      expect(rows.map((r) => r.key?.toString())).toEqual([String(res.json().orderId)])
    } finally {
      await prefixed.close()
    }
  })
})

describe('POST /orders: refused, in the seed order, leaving nothing behind', () => {
  /** A refused order writes no order, no items, no record, and leaves the cart as it was. */
  async function expectRefused(userId: number, body: object, status: number, code: string, message?: RegExp) {
    const before = await footprint(userId)
    api.resetNudges()
    const res = await order(body)
    expect(res.statusCode, res.body).toBe(status)
    expect(res.json().code).toBe(code)
    if (message) expect(res.json().message).toMatch(message)
    expect(await footprint(userId)).toEqual(before)
    expect(api.nudges).toBe(0)
  }

  it('an unknown user should get USER_NOT_FOUND before anything else', async () => {
    const missing = 987_654_321
    await expectRefused(
      missing,
      { userId: missing, userCouponId: 123, items: [{ productId: 999_999, quantity: 1 }] },
      404,
      'USER_NOT_FOUND',
    )
  })

  it('a user with no points AND an empty cart should get EMPTY_ORDER', async () => {
    const userId = await userWith(0)
    await expectRefused(userId, { userId, userCouponId: 123 }, 400, 'EMPTY_ORDER', /cart/)
  })

  it('an empty items list should get EMPTY_ORDER, even with a full cart (items were given)', async () => {
    const userId = await userWith(0)
    await putCart(userId, await newProduct(), 1)
    await expectRefused(userId, { userId, items: [] }, 400, 'EMPTY_ORDER', /items/)
  })

  it('an unknown product should get PRODUCT_NOT_FOUND before a short one is looked at', async () => {
    const userId = await userWith(0)
    const short = await newProduct({ stock: 0 })
    await putCart(userId, short, 1)
    await putCart(userId, await newProduct(), 1)
    await expectRefused(
      userId,
      {
        userId,
        userCouponId: 123,
        items: [
          { productId: short, quantity: 1 },
          { productId: 987_654, quantity: 1 },
        ],
      },
      404,
      'PRODUCT_NOT_FOUND',
      /987654/,
    )
  })

  it('a short product should get INSUFFICIENT_STOCK before the coupon and the points', async () => {
    const userId = await userWith(0)
    const productId = await newProduct({ stock: 2 })
    await putCart(userId, productId, 3)
    await expectRefused(
      userId,
      { userId, userCouponId: 123 },
      409,
      'INSUFFICIENT_STOCK',
      new RegExp(`product ${productId} has 2`),
    )
  })

  it('an unusable coupon should get COUPON_NOT_USABLE before the points', async () => {
    const userId = await userWith(0)
    const productId = await newProduct()
    await expectRefused(
      userId,
      { userId, userCouponId: 123, items: [{ productId, quantity: 1 }] },
      409,
      'COUPON_NOT_USABLE',
    )
  })

  it('too few points for the final amount should get INSUFFICIENT_POINTS, last', async () => {
    const userId = await userWith(899)
    const productId = await newProduct({ price: 1_000 })
    const userCouponId = await holdCoupon(
      userId,
      await newCoupon({ discountType: 'RATE', discountValue: 10 }),
    )
    await putCart(userId, productId, 1)
    await expectRefused(
      userId,
      { userId, userCouponId },
      409,
      'INSUFFICIENT_POINTS',
      /899 points, the order costs 900/,
    )
  })

  it.each([
    ['does not exist', async (_u: number) => 424_242_000_001, /does not exist/],
    [
      'belongs to another user',
      async (_u: number) => holdCoupon(await newUser(), await newCoupon()),
      /another user/,
    ],
    [
      'is already used',
      async (u: number) => {
        const id = await holdCoupon(u, await newCoupon())
        await api.db
          .updateTable('user_coupons')
          .set({ used: true, used_at: new Date() })
          .where('id', '=', String(id))
          .execute()
        return id
      },
      /already used/,
    ],
    [
      'has expired',
      async (u: number) => holdCoupon(u, await newCoupon({ expiresAt: '2020-01-01T00:00:00Z' })),
      /expired at 2020-01-01/,
    ],
    [
      'needs a larger order',
      async (u: number) => holdCoupon(u, await newCoupon({ minOrderAmount: 1_001 })),
      /at least 1001, the order totals 1000/,
    ],
  ])('a coupon that %s should get 409 COUPON_NOT_USABLE saying so', async (_w, couponOf, reason) => {
    const userId = await userWith(10_000)
    const productId = await newProduct({ price: 1_000 })
    const userCouponId = await couponOf(userId)
    await expectRefused(
      userId,
      { userId, userCouponId, items: [{ productId, quantity: 1 }] },
      409,
      'COUPON_NOT_USABLE',
      reason,
    )
  })

  it('a cart of more than 100 products should be refused naming the cart (the record carries at most 100)', async () => {
    const userId = await userWith(1_000_000)
    const products = await Promise.all(Array.from({ length: 101 }, () => newProduct({ price: 1 })))
    for (const p of products) await putCart(userId, p, 1)
    await expectRefused(userId, { userId }, 400, 'VALIDATION_FAILED', /^cart: at most 100 products/)
  })
})

describe('POST /orders: atomic', () => {
  it('an order whose record cannot be written should leave no order, no items and the cart as it was', async () => {
    const userId = await userWith(50_000)
    const productId = await newProduct()
    await putCart(userId, productId, 2)
    // The outbox insert fails after the order and its items were written, inside the transaction.
    await sql`create function refuse_orders() returns trigger language plpgsql as $$
      begin raise exception 'outbox refused (test)'; end $$`.execute(api.db)
    await sql`create trigger refuse_orders before insert on outbox for each row
      when (new.topic = 'order-created-topic') execute function refuse_orders()`.execute(api.db)
    try {
      const res = await order({ userId })
      expect(res.statusCode).toBe(500)
      expect(res.json().code).toBe('INTERNAL')
    } finally {
      await sql`drop trigger refuse_orders on outbox`.execute(api.db)
      await sql`drop function refuse_orders()`.execute(api.db)
    }
    const { orders, items, records, cart } = await footprint(userId)
    expect({ orders, items, records }).toEqual({ orders: [], items: [], records: [] })
    expect(cart).toEqual([{ product_id: String(productId), quantity: 2 }])
    // The same order goes through once the record can be written: the failure left nothing half done.
    expect((await order({ userId })).statusCode).toBe(202)
    expect((await footprint(userId)).orders).toHaveLength(1)
  })

  it('concurrent orders should each get their own id, items and record', async () => {
    const userId = await userWith(1_000_000)
    const productId = await newProduct({ price: 10, stock: 1_000 })
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => order({ userId, items: [{ productId, quantity: i + 1 }] })),
    )
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(202))
    const { orders, items, records } = await footprint(userId)
    const ids = results.map((r) => String(r.json().orderId)).sort()
    expect(orders.map((o) => o.id).sort()).toEqual(ids)
    expect(items.map((i) => i.order_id).sort()).toEqual(ids)
    expect(records.map((r) => r.key!.toString()).sort()).toEqual(ids)
  })
})

describe('POST /orders: validation', () => {
  it.each([
    ['a missing userId', { items: [{ productId: 1, quantity: 1 }] }, 'body.userId'],
    ['a userId of 0', { userId: 0 }, 'body.userId'],
    ['a userId as text', { userId: '1' }, 'body.userId'],
    ['a userCouponId of 0', { userId: 1, userCouponId: 0 }, 'body.userCouponId'],
    ['items that are not a list', { userId: 1, items: 'all' }, 'body.items'],
    ['a quantity of 0', { userId: 1, items: [{ productId: 1, quantity: 0 }] }, 'body.items.0.quantity'],
    [
      'a quantity above 1,000,000',
      { userId: 1, items: [{ productId: 1, quantity: 1_000_001 }] },
      'body.items.0.quantity',
    ],
    [
      'a missing productId',
      { userId: 1, items: [{ productId: 1, quantity: 1 }, { quantity: 1 }] },
      'body.items.1.productId',
    ],
    [
      '101 lines',
      { userId: 1, items: Array.from({ length: 101 }, (_, i) => ({ productId: i + 1, quantity: 1 })) },
      'body.items',
    ],
  ])('POST /orders should answer 400 VALIDATION_FAILED for %s', async (_w, body, field) => {
    const res = await order(body)
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    expect(res.json().message).toContain(field)
  })
})
