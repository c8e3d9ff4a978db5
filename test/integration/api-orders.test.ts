/**
 * POST /orders on a real PostgreSQL: the order row, its items and its order-created record written
 * together — or, when the transaction fails, none of them.
 */
import { sql } from 'kysely'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { parseOrderCreated } from '../../processors/order-messages.ts'
import { ShopHeaders } from '../../processors/shop-headers.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { useOrderFixture } from '../support/order-fixture.ts'

const { newCoupon, newProduct, holdCoupon, api, order, putCart, userWith, footprint } = useOrderFixture()

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
