/**
 * What the sales ranking reads from PostgreSQL, its source of truth: the orders a batch of status
 * events names, and the snapshot of COMPLETED orders a rebuild writes into Redis.
 */
import { type Kysely, sql } from 'kysely'
import type { Database, OrderStatus } from './schema.ts'

export interface OrderLineQuantity {
  productId: number
  quantity: number
}

export interface FinishedOrder {
  orderId: number
  status: OrderStatus
  createdAt: Date
  /** completed_at or failed_at; null while PENDING. */
  finishedAt: Date | null
  /** Only read for COMPLETED orders: the others count nowhere in the ranking. */
  items: OrderLineQuantity[]
}

/** The orders among `orderIds` (missing ids are absent from the map), in two statements. */
export async function findFinishedOrders(
  db: Kysely<Database>,
  orderIds: readonly number[],
): Promise<Map<number, FinishedOrder>> {
  const found = new Map<number, FinishedOrder>()
  if (orderIds.length === 0) return found
  const ids = [...new Set(orderIds)].map(String)
  const orders = await db
    .selectFrom('orders')
    .select(['id', 'status', 'created_at', 'completed_at', 'failed_at'])
    .where('id', 'in', ids)
    .execute()
  for (const o of orders) {
    found.set(Number(o.id), {
      orderId: Number(o.id),
      status: o.status,
      createdAt: o.created_at as Date,
      finishedAt: o.completed_at ?? o.failed_at,
      items: [],
    })
  }
  const completed = orders.filter((o) => o.status === 'COMPLETED').map((o) => o.id)
  if (completed.length === 0) return found
  const items = await db
    .selectFrom('order_items')
    .select(['order_id', 'product_id', 'quantity'])
    .where('order_id', 'in', completed)
    .orderBy('order_id')
    .orderBy('product_id')
    .execute()
  for (const i of items)
    found.get(Number(i.order_id))!.items.push({ productId: Number(i.product_id), quantity: i.quantity })
  return found
}

export interface RankingSnapshot {
  /** The database the snapshot was read from (see databaseIdentity). */
  database: string
  /** Seoul day `YYYYMMDD` → ids of the orders completed that day. */
  orders: Map<string, string[]>
  /** Seoul day → productId → quantity sold. */
  sales: Map<string, Map<string, number>>
}

const identity = sql<{ database: string }>`
  select s.system_identifier::text || '/' || d.oid::text || '/' || d.datname as database
  from pg_control_system() s, pg_database d
  where d.datname = current_database()`

/**
 * Which database this is, as the ranking's ready marker records it: the cluster's system identifier
 * (chosen by initdb), the database's oid and its name. Dropping a database and creating it again gives
 * it a new oid, and another cluster has another identifier, so a Redis view built from an earlier or
 * another database never passes for this one's — also when the name, and so the URL, is the same. No
 * table of ours holds it: a row would travel with a dump or a template copy into another database.
 */
export async function databaseIdentity(db: Kysely<Database>): Promise<string> {
  const { rows } = await identity.execute(db)
  return rows[0]!.database
}

/**
 * The COMPLETED orders since `from`, by Seoul day, from one snapshot (REPEATABLE READ): the order sets
 * and the sums agree with each other, whatever commits meanwhile, and name the database they came from.
 */
export async function completedSince(db: Kysely<Database>, from: Date): Promise<RankingSnapshot> {
  // The same day arithmetic as state/ranking-keys.ts: UTC + 9 hours, no time zone database involved.
  const day = sql<string>`to_char((o.completed_at at time zone 'UTC') + interval '9 hours', 'YYYYMMDD')`
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const orders = await trx
        .selectFrom('orders as o')
        .select(['o.id', day.as('day')])
        .where('o.status', '=', 'COMPLETED')
        .where('o.completed_at', '>=', from)
        .execute()
      const sales = await trx
        .selectFrom('orders as o')
        .innerJoin('order_items as i', 'i.order_id', 'o.id')
        .select([day.as('day'), 'i.product_id', sql<string>`sum(i.quantity)`.as('quantity')])
        .where('o.status', '=', 'COMPLETED')
        .where('o.completed_at', '>=', from)
        .groupBy([sql`1`, 'i.product_id'])
        .execute()
      const snapshot: RankingSnapshot = {
        database: (await identity.execute(trx)).rows[0]!.database,
        orders: new Map(),
        sales: new Map(),
      }
      for (const o of orders) {
        const list = snapshot.orders.get(o.day) ?? []
        list.push(String(o.id))
        snapshot.orders.set(o.day, list)
      }
      for (const s of sales) {
        const byProduct = snapshot.sales.get(s.day) ?? new Map<string, number>()
        byProduct.set(String(s.product_id), Number(s.quantity))
        snapshot.sales.set(s.day, byProduct)
      }
      return snapshot
    })
}

/** The current names of the given products (absent ids are absent from the map). */
export async function productNames(
  db: Kysely<Database>,
  productIds: readonly number[],
): Promise<Map<number, string>> {
  if (productIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('products')
    .select(['id', 'name'])
    .where('id', 'in', productIds.map(String))
    .execute()
  return new Map(rows.map((r) => [Number(r.id), r.name]))
}
