/**
 * Reading orders: the rows the API placed and the saga moves on (PENDING → COMPLETED | FAILED), with
 * their items as they were priced and named when ordered.
 */
import type { Kysely } from 'kysely'
import type { Database, OrderStatus } from './schema.ts'

export interface OrderItem {
  productId: number
  name: string
  price: number
  quantity: number
}

export interface Order {
  orderId: number
  userId: number
  status: OrderStatus
  failureReason: string | null
  items: OrderItem[]
  totalAmount: number
  discountAmount: number
  finalAmount: number
  userCouponId: number | null
  createdAt: Date
  completedAt: Date | null
}

const orderColumns = [
  'id',
  'user_id',
  'status',
  'failure_reason',
  'total_amount',
  'discount_amount',
  'final_amount',
  'user_coupon_id',
  'created_at',
  'completed_at',
] as const

/** Orders with their items: one query for the orders, one for all their items. */
async function withItems(
  db: Kysely<Database>,
  rows: Array<{
    id: string
    user_id: string
    status: OrderStatus
    failure_reason: string | null
    total_amount: string
    discount_amount: string
    final_amount: string
    user_coupon_id: string | null
    created_at: Date
    completed_at: Date | null
  }>,
): Promise<Order[]> {
  if (rows.length === 0) return []
  const items = await db
    .selectFrom('order_items')
    .select(['order_id', 'product_id', 'product_name', 'price', 'quantity'])
    .where(
      'order_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('order_id')
    .orderBy('product_id')
    .execute()
  const byOrder = new Map<string, OrderItem[]>()
  for (const item of items) {
    const list = byOrder.get(item.order_id) ?? []
    list.push({
      productId: Number(item.product_id),
      name: item.product_name,
      price: Number(item.price),
      quantity: item.quantity,
    })
    byOrder.set(item.order_id, list)
  }
  return rows.map((row) => ({
    orderId: Number(row.id),
    userId: Number(row.user_id),
    status: row.status,
    failureReason: row.failure_reason,
    items: byOrder.get(row.id) ?? [],
    totalAmount: Number(row.total_amount),
    discountAmount: Number(row.discount_amount),
    finalAmount: Number(row.final_amount),
    userCouponId: row.user_coupon_id === null ? null : Number(row.user_coupon_id),
    createdAt: row.created_at,
    completedAt: row.completed_at,
  }))
}

export async function findOrder(db: Kysely<Database>, orderId: number): Promise<Order | undefined> {
  const row = await db
    .selectFrom('orders')
    .select(orderColumns)
    .where('id', '=', String(orderId))
    .executeTakeFirst()
  return row && (await withItems(db, [row]))[0]
}

/**
 * A page of the user's orders, newest first: by order id, descending, which is the order the API
 * created them in (ids come from one sequence). `before` continues after the last order of a page.
 */
export async function listUserOrders(
  db: Kysely<Database>,
  input: { userId: number; limit: number; before?: number | undefined },
): Promise<Order[]> {
  let query = db
    .selectFrom('orders')
    .select(orderColumns)
    .where('user_id', '=', String(input.userId))
    .orderBy('id', 'desc')
    .limit(input.limit)
  if (input.before !== undefined) query = query.where('id', '<', String(input.before))
  return withItems(db, await query.execute())
}
