/**
 * Order rows written straight into PostgreSQL, as the saga commits them: for tests of what reads
 * orders (the ranking, the metrics) without running the saga.
 */
import type { Kysely } from 'kysely'
import type { Database, OrderStatus } from '../../state/schema.ts'

export interface TestOrder {
  status: OrderStatus
  items: Array<{ productId: number; quantity: number }>
  createdAt?: Date
  /** completed_at for COMPLETED, failed_at for FAILED; now by default. */
  finishedAt?: Date
  reason?: string
  userId?: number
}

/** Inserts products named `product-<i>` and returns their ids. */
export async function insertProducts(db: Kysely<Database>, count: number): Promise<number[]> {
  const rows = await db
    .insertInto('products')
    .values(
      Array.from({ length: count }, (_, i) => ({ name: `product-${i}`, price: 1000, stock: 1_000_000 })),
    )
    .returning('id')
    .execute()
  return rows.map((r) => Number(r.id))
}

/** Inserts an order and its items in one transaction; returns its id. */
export async function insertOrder(db: Kysely<Database>, order: TestOrder): Promise<number> {
  const finishedAt = order.finishedAt ?? new Date()
  return db.transaction().execute(async (trx) => {
    const { id } = await trx
      .insertInto('orders')
      .values({
        user_id: order.userId ?? 1,
        status: order.status,
        failure_reason: order.status === 'FAILED' ? (order.reason ?? 'INSUFFICIENT_STOCK') : null,
        total_amount: 0,
        discount_amount: 0,
        final_amount: 0,
        origin: 'API',
        created_at: order.createdAt ?? new Date(finishedAt.getTime() - 250),
        completed_at: order.status === 'COMPLETED' ? finishedAt : null,
        failed_at: order.status === 'FAILED' ? finishedAt : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx
      .insertInto('order_items')
      .values(
        order.items.map((i) => ({
          order_id: id,
          product_id: i.productId,
          product_name: `product ${i.productId}`,
          price: 1000,
          quantity: i.quantity,
        })),
      )
      .execute()
    return Number(id)
  })
}

/** The quantities of the COMPLETED orders since `from`, by product: what the ranking must show. */
export async function completedQuantities(db: Kysely<Database>, from: Date): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('orders as o')
    .innerJoin('order_items as i', 'i.order_id', 'o.id')
    .select(['i.product_id', (eb) => eb.fn.sum<string>('i.quantity').as('quantity')])
    .where('o.status', '=', 'COMPLETED')
    .where('o.completed_at', '>=', from)
    .groupBy('i.product_id')
    .execute()
  return new Map(rows.map((r) => [Number(r.product_id), Number(r.quantity)]))
}
