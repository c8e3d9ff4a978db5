/**
 * The pre-checks of POST /orders as the seed runs them: user, non-empty, products exist, stock per
 * line, coupon, discount, points — each refusal only when every earlier check passed.
 */
import { describe, expect, it } from 'vitest'
import {
  checkOrder,
  discountOf,
  type OrderCoupon,
  type OrderFacts,
  sumLines,
} from '../../state/order-checks.ts'

const NOW = new Date('2030-06-01T00:00:00Z')
const USER = 7

const facts = (overrides: Partial<OrderFacts> = {}): OrderFacts => ({
  user: { points: 100_000 },
  lines: [{ productId: 1, quantity: 2 }],
  source: 'items',
  products: new Map([
    [1, { name: 'Keyboard', price: 10_000, stock: 5 }],
    [2, { name: 'Mouse', price: 3_000, stock: 0 }],
  ]),
  now: NOW,
  ...overrides,
})

const coupon = (overrides: Partial<Extract<OrderCoupon, { found: true }>> = {}): OrderCoupon => ({
  userCouponId: 42,
  found: true,
  ownerId: USER,
  used: false,
  expiresAt: null,
  minOrderAmount: null,
  discountType: 'RATE',
  discountValue: 10,
  ...overrides,
})

const refusal = (f: OrderFacts) => {
  const verdict = checkOrder(USER, f)
  return verdict.status === 'REFUSED' ? verdict.code : verdict.status
}

describe('order pre-checks', () => {
  it('checkOrder should price an order and discount it by the coupon', () => {
    expect(checkOrder(USER, facts({ coupon: coupon() }))).toEqual({
      status: 'ACCEPTED',
      lines: [{ productId: 1, quantity: 2, name: 'Keyboard', price: 10_000 }],
      totalAmount: 20_000,
      discountAmount: 2_000,
      finalAmount: 18_000,
    })
  })

  it('checkOrder should refuse in the seed order: each check only after the ones before it pass', () => {
    const everythingWrong = facts({
      user: undefined,
      lines: [],
      coupon: { userCouponId: 42, found: false },
    })
    expect(refusal(everythingWrong)).toBe('USER_NOT_FOUND')
    const withUser = { ...everythingWrong, user: { points: 0 } }
    expect(refusal(withUser)).toBe('EMPTY_ORDER')
    const missingAndShort = {
      ...withUser,
      lines: [
        { productId: 2, quantity: 1 },
        { productId: 99, quantity: 1 },
      ],
    }
    expect(refusal(missingAndShort)).toBe('PRODUCT_NOT_FOUND')
    const short = { ...withUser, lines: [{ productId: 2, quantity: 1 }] }
    expect(refusal(short)).toBe('INSUFFICIENT_STOCK')
    const inStock = { ...withUser, lines: [{ productId: 1, quantity: 1 }] }
    expect(refusal(inStock)).toBe('COUPON_NOT_USABLE')
    expect(refusal({ ...inStock, coupon: coupon() })).toBe('INSUFFICIENT_POINTS')
    expect(refusal({ ...inStock, coupon: coupon(), user: { points: 9_000 } })).toBe('ACCEPTED')
  })

  it.each<[string, Partial<Extract<OrderCoupon, { found: true }>> | 'missing', RegExp]>([
    ['does not exist', 'missing', /user coupon 42 does not exist/],
    ['belongs to another user', { ownerId: USER + 1 }, /belongs to another user/],
    ['is used', { used: true }, /is already used/],
    ['expired', { expiresAt: new Date('2030-05-31T23:59:59Z') }, /expired at 2030-05-31T23:59:59.000Z/],
    ['expires at the instant of the order', { expiresAt: NOW }, /expired at/],
    ['needs a larger order', { minOrderAmount: 20_001 }, /at least 20001, the order totals 20000/],
  ])('checkOrder should refuse a coupon that %s with the reason', (_what, overrides, message) => {
    const c = overrides === 'missing' ? ({ userCouponId: 42, found: false } as const) : coupon(overrides)
    expect(checkOrder(USER, facts({ coupon: c }))).toEqual({
      status: 'REFUSED',
      code: 'COUPON_NOT_USABLE',
      message: expect.stringMatching(message),
    })
  })

  it('checkOrder should accept a coupon whose minimum equals the total', () => {
    expect(refusal(facts({ coupon: coupon({ minOrderAmount: 20_000 }) }))).toBe('ACCEPTED')
  })

  it('checkOrder should compare the points with the final amount, not the total', () => {
    const f = facts({
      user: { points: 15_000 },
      coupon: coupon({ discountType: 'AMOUNT', discountValue: 5_000 }),
    })
    expect(checkOrder(USER, f)).toMatchObject({ status: 'ACCEPTED', finalAmount: 15_000 })
    expect(refusal({ ...f, user: { points: 14_999 } })).toBe('INSUFFICIENT_POINTS')
  })

  it('checkOrder should name the cart when the cart is empty', () => {
    expect(checkOrder(USER, facts({ lines: [], source: 'cart' }))).toMatchObject({
      code: 'EMPTY_ORDER',
      message: 'the cart of user 7 is empty',
    })
  })

  it('checkOrder should refuse, naming the field, what the order-created record could not carry', () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ productId: i + 1, quantity: 1 }))
    expect(checkOrder(USER, facts({ lines: many, source: 'cart' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'cart: at most 100 products per order',
    })
    expect(checkOrder(USER, facts({ lines: [{ productId: 1, quantity: 1_000_001 }] }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('items: product 1 totals 1000001 units'),
    })
    const dear = new Map([[1, { name: 'Yacht', price: Number.MAX_SAFE_INTEGER, stock: 5 }]])
    expect(checkOrder(USER, facts({ products: dear }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'items: the order total would exceed 2^53 - 1 won',
    })
  })
})

describe('discounts', () => {
  it.each([
    ['RATE', 10, 12_345n, 1_234n],
    ['RATE', 100, 999n, 999n],
    ['RATE', 33, 1n, 0n],
    ['AMOUNT', 5_000, 12_345n, 5_000n],
    ['AMOUNT', 5_000, 3_000n, 3_000n],
  ] as const)('discountOf should give %s %i of %i as %i', (discountType, discountValue, total, expected) => {
    expect(discountOf({ discountType, discountValue }, total)).toBe(expected)
  })

  it('discountOf should stay exact past 2^53 in the intermediate product', () => {
    const total = BigInt(Number.MAX_SAFE_INTEGER)
    expect(discountOf({ discountType: 'RATE', discountValue: 99 }, total)).toBe((total * 99n) / 100n)
  })
})

describe('sumLines', () => {
  it('sumLines should sum lines naming one product, keeping the first-seen order', () => {
    expect(
      sumLines([
        { productId: 3, quantity: 1 },
        { productId: 1, quantity: 2 },
        { productId: 3, quantity: 4 },
      ]),
    ).toEqual([
      { productId: 3, quantity: 5 },
      { productId: 1, quantity: 2 },
    ])
  })
})
