/**
 * The pre-checks of `POST /orders`, in the seed's order, as one pure function of what was read: the
 * user, the lines, the products, the coupon. They are advisory — the saga is the authority, and a
 * concurrent order may still take the last unit — but they refuse what is already known to fail, with
 * the reason, before an order exists.
 */
import type { DiscountType } from './coupons.ts'

/** Lines naming one product twice become one line with the summed quantity, in first-seen order: the
 * saga's own rule (one reservation per product), so the API checks stock as the saga will reserve it. */
export { sumLines } from '../processors/stock-lines.ts'

/** One line of an order: a product and how many units. */
export interface Line {
  productId: number
  quantity: number
}

/** The contract's bounds on an order-created record (processors/order-messages.ts). */
export const MAX_LINES = 100
export const MAX_LINE_QUANTITY = 1_000_000

export interface OrderFacts {
  /** Undefined when the user does not exist. */
  user: { points: number } | undefined
  /** Summed per product (see sumLines), in the order they were given. */
  lines: readonly Line[]
  /** Where the lines came from, to name it in a refusal. */
  source: 'items' | 'cart'
  products: ReadonlyMap<number, { name: string; price: number; stock: number }>
  /** Absent when the order names no coupon; `found: false` when the named one does not exist. */
  coupon?: OrderCoupon
  now: Date
}

export type OrderCoupon =
  | { userCouponId: number; found: false }
  | {
      userCouponId: number
      found: true
      ownerId: number
      used: boolean
      expiresAt: Date | null
      minOrderAmount: number | null
      discountType: DiscountType
      discountValue: number
    }

export type OrderRefusalCode =
  | 'USER_NOT_FOUND'
  | 'EMPTY_ORDER'
  | 'VALIDATION_FAILED'
  | 'PRODUCT_NOT_FOUND'
  | 'INSUFFICIENT_STOCK'
  | 'COUPON_NOT_USABLE'
  | 'INSUFFICIENT_POINTS'

export interface PricedLine extends Line {
  name: string
  price: number
}

export type OrderVerdict =
  | { status: 'REFUSED'; code: OrderRefusalCode; message: string }
  | {
      status: 'ACCEPTED'
      lines: PricedLine[]
      totalAmount: number
      discountAmount: number
      finalAmount: number
    }

const refuse = (code: OrderRefusalCode, message: string): OrderVerdict => ({
  status: 'REFUSED',
  code,
  message,
})

/** The seed's order: user, non-empty, products exist, stock per line, coupon, discount, points. */
export function checkOrder(userId: number, facts: OrderFacts): OrderVerdict {
  const { user, lines, source } = facts
  if (!user) return refuse('USER_NOT_FOUND', `no user ${userId}`)
  if (lines.length === 0)
    return refuse(
      'EMPTY_ORDER',
      source === 'cart' ? `the cart of user ${userId} is empty` : 'items: no items',
    )
  // The saga's record admits these bounds only: beyond them it would go to the DLQ, not be refused.
  if (lines.length > MAX_LINES)
    return refuse('VALIDATION_FAILED', `${source}: at most ${MAX_LINES} products per order`)
  const tooMany = lines.find((l) => l.quantity > MAX_LINE_QUANTITY)
  if (tooMany)
    return refuse(
      'VALIDATION_FAILED',
      `${source}: product ${tooMany.productId} totals ${tooMany.quantity} units, at most ${MAX_LINE_QUANTITY}`,
    )

  const missing = lines.find((l) => !facts.products.has(l.productId))
  if (missing) return refuse('PRODUCT_NOT_FOUND', `no product ${missing.productId}`)
  const priced = lines.map((l) => ({ ...l, ...facts.products.get(l.productId)! }))
  const short = priced.find((l) => l.quantity > l.stock)
  if (short)
    return refuse(
      'INSUFFICIENT_STOCK',
      `product ${short.productId} has ${short.stock} in stock, the order asks for ${short.quantity}`,
    )

  // Exact arithmetic: a price near 2^53 times a quantity is past what a double holds exactly.
  const total = priced.reduce((sum, l) => sum + BigInt(l.price) * BigInt(l.quantity), 0n)
  if (total > BigInt(Number.MAX_SAFE_INTEGER))
    return refuse('VALIDATION_FAILED', `${source}: the order total would exceed 2^53 - 1 won`)

  let discount = 0n
  if (facts.coupon) {
    const unusable = couponProblem(userId, facts.coupon, total, facts.now)
    if (unusable) return refuse('COUPON_NOT_USABLE', `user coupon ${facts.coupon.userCouponId} ${unusable}`)
    discount = discountOf(facts.coupon as Extract<OrderCoupon, { found: true }>, total)
  }
  const final = total - discount
  if (BigInt(user.points) < final)
    return refuse('INSUFFICIENT_POINTS', `user ${userId} has ${user.points} points, the order costs ${final}`)

  return {
    status: 'ACCEPTED',
    lines: priced.map(({ productId, quantity, name, price }) => ({ productId, quantity, name, price })),
    totalAmount: Number(total),
    discountAmount: Number(discount),
    finalAmount: Number(final),
  }
}

/** Why the coupon cannot be used on this order, or undefined when it can (the seed's checks, in order). */
function couponProblem(userId: number, coupon: OrderCoupon, total: bigint, now: Date): string | undefined {
  if (!coupon.found) return 'does not exist'
  if (coupon.ownerId !== userId) return `belongs to another user, not user ${userId}`
  if (coupon.used) return 'is already used'
  if (coupon.expiresAt !== null && coupon.expiresAt <= now)
    return `expired at ${coupon.expiresAt.toISOString()}`
  if (coupon.minOrderAmount !== null && total < BigInt(coupon.minOrderAmount))
    return `needs an order of at least ${coupon.minOrderAmount}, the order totals ${total}`
  return undefined
}

/** RATE: floor(total × value / 100); AMOUNT: min(value, total). */
export function discountOf(
  coupon: { discountType: DiscountType; discountValue: number },
  total: bigint,
): bigint {
  const value = BigInt(coupon.discountValue)
  return coupon.discountType === 'RATE' ? (total * value) / 100n : value < total ? value : total
}
