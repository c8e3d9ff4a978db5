/**
 * POST /orders refusals on a real PostgreSQL: the seed's pre-checks in its order (each one only once
 * every earlier one passes), each leaving no order, no record and the cart as it was; and validation.
 */
import { describe, expect, it } from 'vitest'
import { useOrderFixture } from '../support/order-fixture.ts'

const { newUser, newCoupon, newProduct, holdCoupon, api, order, putCart, userWith, footprint } =
  useOrderFixture()

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
