/**
 * Placing an order from the API: the advisory pre-checks (state/order-checks.ts) on committed rows,
 * then, in one transaction, the PENDING order, its items at today's price and name, its
 * `order-created-topic` record through the outbox, and — when it was ordered from the cart — the cart
 * lines it ordered. No order without its record, no record without its order.
 *
 * Nothing here takes a lock: the saga's owners are the authority on stock, points and coupon use, and
 * a check that a concurrent order overtakes only means the saga fails the order, with its reason.
 */
import { type Insertable, type Kysely, sql } from 'kysely'
import type { OrderCreated } from '../processors/order-messages.ts'
import { ShopHeaders } from '../processors/shop-headers.ts'
import { Topics } from '../processors/topics.ts'
import { arrayLiteral } from '../topology/postgres/array-literal.ts'
import { encodeHeaders } from '../topology/runtime/header-codec.ts'
import { checkOrder, type Line, type OrderCoupon, type OrderRefusalCode, sumLines } from './order-checks.ts'
import { findProducts } from './products.ts'
import type { Database } from './schema.ts'
import { findUser } from './users.ts'

export interface OrderRequest {
  userId: number
  userCouponId?: number | null | undefined
  /** Absent: the user's cart is ordered (and its ordered lines cleared). */
  items?: readonly Line[] | undefined
  now: Date
  /** `order-created-topic`, with the deployment's topic prefix. */
  topic?: string
}

export type Placement =
  | {
      status: 'PLACED'
      orderId: number
      totalAmount: number
      discountAmount: number
      finalAmount: number
    }
  | { status: 'REFUSED'; code: OrderRefusalCode; message: string }

export async function placeOrder(db: Kysely<Database>, request: OrderRequest): Promise<Placement> {
  const { userId, userCouponId, now } = request
  const fromCart = request.items === undefined
  const [user, lines, coupon] = await Promise.all([
    findUser(db, userId),
    fromCart ? cartLines(db, userId) : sumLines(request.items!),
    userCouponId ? findOrderCoupon(db, userCouponId) : undefined,
  ])
  const products = new Map(
    (user && lines.length > 0
      ? await findProducts(
          db,
          lines.map((l) => l.productId),
        )
      : []
    ).map((p) => [p.productId, p]),
  )
  const verdict = checkOrder(userId, {
    user,
    lines,
    source: fromCart ? 'cart' : 'items',
    products,
    ...(coupon ? { coupon } : {}),
    now,
  })
  if (verdict.status === 'REFUSED') return verdict

  const { totalAmount, discountAmount, finalAmount } = verdict
  const orderId = await db.transaction().execute(async (trx) => {
    const id = await insertOrder(trx, {
      user_id: userId,
      status: 'PENDING',
      total_amount: totalAmount,
      discount_amount: discountAmount,
      final_amount: finalAmount,
      user_coupon_id: userCouponId ?? null,
      origin: 'API',
      created_at: now,
    })
    await trx
      .insertInto('order_items')
      .values(
        verdict.lines.map((l) => ({
          order_id: id,
          product_id: l.productId,
          product_name: l.name,
          price: l.price,
          quantity: l.quantity,
        })),
      )
      .execute()
    const record: OrderCreated = {
      orderId: id,
      userId,
      userCouponId: userCouponId ?? null,
      finalAmount,
      cartItems: verdict.lines.map(({ productId, quantity }) => ({ productId, quantity })),
      createdAt: now.toISOString(),
    }
    await trx
      .insertInto('outbox')
      .values({
        topic: request.topic ?? Topics.ORDER_CREATED,
        // Keyed by order: the partition of the order id owns its saga.
        key: Buffer.from(String(id)),
        value: Buffer.from(JSON.stringify(record)),
        headers: encodeHeaders({ [ShopHeaders.OUTPUT_ID]: `api/order/${id}` }),
      })
      .execute()
    if (fromCart) await clearOrderedLines(trx, userId, lines)
    return id
  })
  return { status: 'PLACED', orderId, totalAmount, discountAmount, finalAmount }
}

/**
 * Inserts the order under the next id of `orders_id_seq` that no order holds, and returns it. An order
 * another service produced to the topic brings its own id, which the saga records as it is; the
 * sequence knows nothing of it, so a taken id is skipped here (one more statement per id skipped). A
 * row another transaction is inserting under the same id makes the insert wait for it, then skip or
 * take the id as that transaction commits or not.
 *
 * The saga's writer does not move the sequence past the ids it records instead: another service keeps
 * its ids in a range of its own (the demo's start at 900,000,000), and one of its orders would pull
 * the sequence into that range, where our next orders would take the ids its next orders bring. And
 * `setval` has no compare-and-set: two partitions' batches could move it backwards.
 */
async function insertOrder(
  trx: Kysely<Database>,
  order: Omit<Insertable<Database['orders']>, 'id'>,
): Promise<number> {
  for (;;) {
    const inserted = await trx
      .insertInto('orders')
      .values({ ...order, id: sql<string>`nextval('orders_id_seq')` })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (inserted) return Number(inserted.id)
  }
}

async function cartLines(db: Kysely<Database>, userId: number): Promise<Line[]> {
  const rows = await db
    .selectFrom('cart_items')
    .select(['product_id', 'quantity'])
    .where('user_id', '=', String(userId))
    .orderBy('product_id')
    .execute()
  return rows.map((r) => ({ productId: Number(r.product_id), quantity: r.quantity }))
}

/**
 * Removes the cart lines as they were ordered. A line whose quantity the user changed meanwhile (a
 * concurrent PUT) stays: it is not what was ordered, and dropping it would lose the user's change.
 */
async function clearOrderedLines(db: Kysely<Database>, userId: number, lines: readonly Line[]) {
  await sql`
    delete from cart_items c
    using unnest(${arrayLiteral(lines.map((l) => l.productId))}::bigint[], ${arrayLiteral(lines.map((l) => l.quantity))}::int[])
      as o(product_id, quantity)
    where c.user_id = ${userId}::bigint and c.product_id = o.product_id and c.quantity = o.quantity`.execute(
    db,
  )
}

async function findOrderCoupon(db: Kysely<Database>, userCouponId: number): Promise<OrderCoupon> {
  const row = await db
    .selectFrom('user_coupons as uc')
    .innerJoin('coupons as c', 'c.id', 'uc.coupon_id')
    .select([
      'uc.user_id',
      'uc.used',
      'c.expires_at',
      'c.min_order_amount',
      'c.discount_type',
      'c.discount_value',
    ])
    .where('uc.id', '=', String(userCouponId))
    .executeTakeFirst()
  if (!row) return { userCouponId, found: false }
  return {
    userCouponId,
    found: true,
    ownerId: Number(row.user_id),
    used: row.used,
    expiresAt: row.expires_at,
    minOrderAmount: row.min_order_amount === null ? null : Number(row.min_order_amount),
    discountType: row.discount_type,
    discountValue: row.discount_value,
  }
}
