/**
 * The order rush the saga benchmark runs: its shop (users, products, one coupon and the user coupons
 * of the orders that use it, inserted straight into a scratch database), its orders (order `i` is a
 * pure function of `i`, so the backlog, the seed style's prefix and the live orders are one sequence),
 * the rows our API would have written for them, and the outcome each order must get.
 *
 * The outcomes are decided by the input alone, never by the order the orders are worked in: ordinary
 * products have stock for every order and ordinary users points for all of theirs; the failures come
 * from a product with no stock, users with almost no points and coupons owned by someone else. So both
 * sides must reach exactly the same statuses, and every failure kind puts compensation on the path:
 * a stock shortage gives back the products its owner reserved with it, a points shortage the stock,
 * an unusable coupon the points and then the stock.
 */
import { partitionForKey } from '../../../topology/partitioner.ts'
import { withClient } from '../harness/infra.ts'
import type { MakeRecord } from '../harness/produce.ts'
import { seededRandom } from '../harness/random.ts'

export interface Workload {
  users: number
  products: number
  seed: number
  /** The partitions of the saga's topics: which lines one stock owner decides together. */
  partitions: number
}

export type Reason = 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_POINTS' | 'COUPON_NOT_USABLE'

export interface BenchOrder {
  orderId: number
  userId: number
  userCouponId: number | null
  couponId: number | null
  /** Who owns `userCouponId` (someone else for a COUPON_NOT_USABLE order). */
  couponOwner: number | null
  lines: Array<{ productId: number; quantity: number }>
  totalAmount: number
  discountAmount: number
  finalAmount: number
  expected: { status: 'COMPLETED' } | { status: 'FAILED'; reason: Reason }
  /** The restore events its compensation must publish: stock (per product) and points. */
  restores: { stock: number; points: number }
}

/** Points of an ordinary user and stock of an ordinary product: more than any run takes. */
const RICH = 1_000_000_000
const PLENTY = 100_000_000
/** Users with too few points for any order (orders cost at least 1,000). */
const POOR_USERS = 20
const COUPON_DISCOUNT = 500
/**
 * A user holds at most one of each coupon: coupon orders go to users in turn (order 5k to user k), and
 * each round of the users gets a coupon of its own; the coupons of the COUPON_NOT_USABLE orders
 * (owned by the next user) are of one more coupon.
 */
const COUPONS = 20
const NOT_OWNER_COUPON = COUPONS + 1
/** User coupon ids: one per coupon order, `USER_COUPON_BASE + orderId`. */
const USER_COUPON_BASE = 10_000_000

/** Each order's share, by `orderId mod 100`: 3 failures in 100, a coupon in one order of five. */
const SHORT_STOCK = 13
const SHORT_POINTS = 37
const NOT_OWNER = 61

export const priceOf = (productId: number) => 1_000 * (1 + (productId % 10))
/** The product nobody can buy: stock 0. */
export const soldOutProduct = (w: Workload) => w.products + 1
const poorUser = (w: Workload, i: number) => w.users + 1 + (i % POOR_USERS)

/** Order `orderId` (1-based): its user, lines, coupon and the outcome it must get. */
export function makeOrder(w: Workload, orderId: number): BenchOrder {
  const next = seededRandom(w.seed ^ Math.imul(orderId, 0x9e3779b1))
  const kind = orderId % 100
  const withCoupon = kind === NOT_OWNER || (kind % 5 === 0 && kind !== 0)
  const turn = kind === NOT_OWNER ? Math.floor(orderId / 100) : Math.floor(orderId / 5)
  const userId =
    kind === SHORT_POINTS
      ? poorUser(w, orderId)
      : withCoupon
        ? 1 + (turn % w.users)
        : 1 + Math.floor(next() * w.users)
  const chosen = new Set<number>()
  const count = 1 + Math.floor(next() * 3)
  while (chosen.size < count) chosen.add(1 + Math.floor(next() * w.products))
  const lines = [...chosen].map((productId) => ({ productId, quantity: 1 + Math.floor(next() * 2) }))
  if (kind === SHORT_STOCK) lines[0] = { productId: soldOutProduct(w), quantity: 1 }
  const userCouponId = withCoupon ? USER_COUPON_BASE + orderId : null
  const couponOwner = !withCoupon ? null : kind === NOT_OWNER ? 1 + (userId % w.users) : userId
  const couponId = !withCoupon
    ? null
    : kind === NOT_OWNER
      ? NOT_OWNER_COUPON
      : 1 + (Math.floor(turn / w.users) % COUPONS)
  const totalAmount = lines.reduce((s, l) => s + priceOf(l.productId) * l.quantity, 0)
  const discountAmount = withCoupon ? COUPON_DISCOUNT : 0
  const reason: Reason | null =
    kind === SHORT_STOCK
      ? 'INSUFFICIENT_STOCK'
      : kind === SHORT_POINTS
        ? 'INSUFFICIENT_POINTS'
        : kind === NOT_OWNER
          ? 'COUPON_NOT_USABLE'
          : null
  // A shortage gives back what its owner's group reserved: the lines on the sold-out product's
  // partition (the first group of the order's chain); the owners of later groups are never asked.
  const soldOutOwner = partitionForKey(String(soldOutProduct(w)), w.partitions)
  const restores =
    reason === 'INSUFFICIENT_STOCK'
      ? {
          stock: lines.filter(
            (l, i) => i > 0 && partitionForKey(String(l.productId), w.partitions) === soldOutOwner,
          ).length,
          points: 0,
        }
      : reason === 'INSUFFICIENT_POINTS'
        ? { stock: lines.length, points: 0 }
        : reason === 'COUPON_NOT_USABLE'
          ? { stock: lines.length, points: 1 }
          : { stock: 0, points: 0 }
  return {
    orderId,
    userId,
    userCouponId,
    couponId,
    couponOwner,
    lines,
    totalAmount,
    discountAmount,
    finalAmount: totalAmount - discountAmount,
    expected: reason === null ? { status: 'COMPLETED' } : { status: 'FAILED', reason },
    restores,
  }
}

/** Orders `from`…`to - 1` (orderIds from+1…to). */
export const makeOrders = (w: Workload, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => makeOrder(w, from + i + 1))

/** When the API "placed" the orders: one instant, in the rows and the records alike. */
export const PLACED_AT = new Date().toISOString()

/** The `order-created-topic` record of an order, keyed by orderId as our API writes it. */
export function orderRecord(orders: readonly BenchOrder[]): MakeRecord {
  return (i) => {
    const o = orders[i]!
    const value = {
      orderId: o.orderId,
      userId: o.userId,
      userCouponId: o.userCouponId,
      finalAmount: o.finalAmount,
      cartItems: o.lines,
      createdAt: PLACED_AT,
    }
    return { key: Buffer.from(String(o.orderId)), value: Buffer.from(JSON.stringify(value)) }
  }
}

/** The shop: rich and poor users, the products and the sold-out one, the coupon. */
export async function insertShop(url: string, w: Workload): Promise<void> {
  await withClient(url, async (c) => {
    await c.query(
      `insert into users (id, name, points)
       select g, 'user-' || g, case when g > $1 then 100 else $2 end from generate_series(1, $3::int) g`,
      [w.users, RICH, w.users + POOR_USERS],
    )
    await c.query(
      `insert into products (id, name, price, stock)
       select g, 'product-' || g, 1000 * (1 + g % 10), case when g > $1 then 0 else $2 end
       from generate_series(1, $3::int) g`,
      [w.products, PLENTY, soldOutProduct(w)],
    )
    await c.query(
      `insert into coupons (id, name, discount_type, discount_value, total_quantity, issued_quantity)
       select g, 'bench-' || g, 'AMOUNT', $1, 999999, 0 from generate_series(1, $2::int) g`,
      [COUPON_DISCOUNT, NOT_OWNER_COUPON],
    )
  })
}

/**
 * What our API writes when it accepts an order (state/order-placement.ts): the PENDING order and its
 * items at today's price, plus — for these orders — the user coupon each coupon order uses, issued
 * before the rush. Set-based: loading 20,000 orders takes a moment, not the benchmark's time.
 */
export async function insertOrders(url: string, orders: readonly BenchOrder[]): Promise<void> {
  const col = <T>(f: (o: BenchOrder) => T) => orders.map(f)
  const items = orders.flatMap((o) => o.lines.map((l) => ({ ...l, orderId: o.orderId })))
  const coupons = orders.filter((o) => o.userCouponId !== null)
  await withClient(url, async (c) => {
    await c.query('begin')
    await c.query(
      `insert into orders (id, user_id, status, total_amount, discount_amount, final_amount, user_coupon_id,
         origin, created_at)
       select v.id, v.u, 'PENDING', v.total, v.discount, v.final, v.coupon, 'API', $7::timestamptz
       from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
         as v(id, u, total, discount, final, coupon)`,
      [
        col((o) => o.orderId),
        col((o) => o.userId),
        col((o) => o.totalAmount),
        col((o) => o.discountAmount),
        col((o) => o.finalAmount),
        col((o) => o.userCouponId),
        PLACED_AT,
      ],
    )
    await c.query(
      `insert into order_items (order_id, product_id, product_name, price, quantity)
       select v.o, v.p, 'product-' || v.p, 1000 * (1 + v.p % 10), v.q
       from unnest($1::bigint[], $2::bigint[], $3::int[]) as v(o, p, q)`,
      [items.map((i) => i.orderId), items.map((i) => i.productId), items.map((i) => i.quantity)],
    )
    await c.query(
      `insert into user_coupons (id, user_id, coupon_id, issued_at)
       select v.id, v.u, v.c, $4::timestamptz from unnest($1::bigint[], $2::bigint[], $3::bigint[]) as v(id, u, c)`,
      [
        coupons.map((o) => o.userCouponId),
        coupons.map((o) => o.couponOwner),
        coupons.map((o) => o.couponId),
        PLACED_AT,
      ],
    )
    await c.query(
      `update coupons set issued_quantity = (select count(*) from user_coupons u where u.coupon_id = coupons.id)`,
    )
    await c.query(`select setval('orders_id_seq', greatest((select max(id) from orders), 1))`)
    await c.query('commit')
  })
}
