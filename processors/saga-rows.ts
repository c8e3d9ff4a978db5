/**
 * Where the order saga's rows live on PostgreSQL: the products it prices topic orders from, and the
 * `orders` rows it creates (for orders another service produced) and ends. Applied in the batch
 * transaction, as every processor's tables are (see coupon-issuer.ts).
 */
import { sql } from 'kysely'
import type { Database } from '../state/schema.ts'
import type { TableRow } from '../topology/api.ts'
import { arrayLiteral, type ScalarKeys } from '../topology/postgres/array-literal.ts'
import type { LookupReader, TableWriter } from '../topology/postgres/state-backend.ts'
import { idKeys } from './fields.ts'
import type { OrderedProduct, SagaStep } from './order-saga.ts'

export const readProducts: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('products')
    .select(['id', 'name', 'price'])
    .where('id', '=', sql<string>`any(${arrayLiteral(idKeys(keys))}::bigint[])`)
    .execute()
  return new Map(
    rows.map((r): [string, OrderedProduct] => [String(r.id), { name: r.name, price: Number(r.price) }]),
  )
}

interface CreateRow {
  op: 'create'
  orderId: number
  userId: number
  userCouponId: number | null
  totalAmount: number
  discountAmount: number
  finalAmount: number
  createdAt: string
  items: ReadonlyArray<{ productId: number; quantity: number; name: string; price: number }>
}

export interface ProgressRow {
  op: 'progress'
  orderId: number
  step: SagaStep
  status: string
  reason: string | null
  completedAt: string | null
  failedAt: string | null
}

/**
 * One table for creation and progress, so a batch that creates an order and moves it on applies them
 * in that order (the runtime applies tables in the order a batch first wrote them).
 */
export const writeOrders: TableWriter<Database> = async (trx, rows) => {
  const all = rows as ReadonlyArray<TableRow & (CreateRow | ProgressRow)>
  const creates = all.filter((r): r is TableRow & CreateRow => r.op === 'create')
  if (creates.length > 0) {
    const c = <K extends ScalarKeys<CreateRow>>(key: K) => arrayLiteral(creates.map((r) => r[key]))
    const items = creates.flatMap((o) => o.items.map((i) => ({ ...i, orderId: o.orderId })))
    const i = <K extends keyof (typeof items)[number]>(key: K) => arrayLiteral(items.map((r) => r[key]))
    // Only the rows inserted here get items: an order our API created has its own, priced at the time.
    await sql`
      with created as (
        insert into orders (id, user_id, status, saga_step, total_amount, discount_amount, final_amount,
          user_coupon_id, origin, created_at)
        select v.id, v.user_id, 'PENDING', 'RECEIVED', v.total, v.discount, v.final, v.coupon, 'TOPIC', v.at
        from unnest(${c('orderId')}::bigint[], ${c('userId')}::bigint[], ${c('totalAmount')}::bigint[],
          ${c('discountAmount')}::bigint[], ${c('finalAmount')}::bigint[], ${c('userCouponId')}::bigint[],
          ${c('createdAt')}::timestamptz[]) as v(id, user_id, total, discount, final, coupon, at)
        on conflict (id) do nothing
        returning id)
      insert into order_items (order_id, product_id, product_name, price, quantity)
      select v.order_id, v.product_id, v.name, v.price, v.quantity
      from unnest(${i('orderId')}::bigint[], ${i('productId')}::bigint[], ${i('name')}::text[],
        ${i('price')}::bigint[], ${i('quantity')}::integer[]) as v(order_id, product_id, name, price, quantity)
      where v.order_id in (select id from created)`.execute(trx)
  }
  // The last progress per order; a final status is never changed (the saga ends each order once).
  const last = new Map<number, ProgressRow>()
  for (const r of all) if (r.op === 'progress') last.set(r.orderId, r)
  if (last.size === 0) return
  await orderProgressStatement([...last.values()]).execute(trx)
}

/**
 * Moves orders on, each found by a probe of the primary key and only while PENDING (exported so a test
 * can read its plan). Written as `update … from unnest(…) where orders.id = v.id and status = 'PENDING'`,
 * PostgreSQL without statistics (autovacuum off, as on this project's CI machine) took the PENDING
 * orders from the status index into a hash: every batch read every PENDING order, 25–85 ms a batch with
 * 60,000 of them (bench:orders). A lateral probe with `limit 1` can only use the key; the update then
 * finds the locked row by its ctid.
 */
export function orderProgressStatement(rows: readonly ProgressRow[]) {
  const p = <K extends keyof ProgressRow>(key: K) => arrayLiteral(rows.map((r) => r[key]))
  return sql`
    with progress as (
      select o.row_id, v.*
      from unnest(${p('orderId')}::bigint[], ${p('step')}::text[], ${p('status')}::text[],
        ${p('reason')}::text[], ${p('completedAt')}::timestamptz[], ${p('failedAt')}::timestamptz[])
        as v(id, step, status, reason, completed_at, failed_at)
      cross join lateral (
        select ctid as row_id from orders where orders.id = v.id and orders.status = 'PENDING' limit 1 for update
      ) o
    )
    update orders set saga_step = v.step, status = v.status, failure_reason = v.reason,
      completed_at = v.completed_at, failed_at = v.failed_at
    from progress v
    where orders.ctid = v.row_id`
}
