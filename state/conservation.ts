/**
 * The saga's conservation laws (CONTRACT.md 2.8), checked against what the owners committed. After
 * quiescence every one must hold exactly; the demo prints them, the integration test asserts them.
 * Each check is one set-based query that returns the rows breaking the law (none when it holds), so a
 * failure names the product, user, coupon or order — not just "mismatch".
 */
import { type Kysely, sql } from 'kysely'
import { SagaStores } from '../processors/order-saga.ts'
import type { Database } from './schema.ts'

export interface Invariant {
  readonly name: string
  readonly holds: boolean
  /** How many rows were checked, and the first few that break it. */
  readonly checked: number
  readonly violations: readonly string[]
}

const SAMPLE = 5

async function check(
  db: Kysely<Database>,
  name: string,
  total: ReturnType<typeof sql<{ n: string }>>,
  broken: ReturnType<typeof sql<{ what: string }>>,
): Promise<Invariant> {
  const [{ rows: counted }, { rows }] = await Promise.all([total.execute(db), broken.execute(db)])
  const violations = rows.map((r) => r.what)
  return { name, holds: violations.length === 0, checked: Number(counted[0]?.n ?? 0), violations }
}

/** Quantities sold per product: the lines of COMPLETED orders. */
const sold = sql`
  select oi.product_id, sum(oi.quantity)::bigint as quantity
  from order_items oi join orders o on o.id = oi.order_id
  where o.status = 'COMPLETED' group by oi.product_id`

export async function checkConservation(db: Kysely<Database>): Promise<Invariant[]> {
  return Promise.all([
    check(
      db,
      'stock: initial stock = stock + quantity sold in COMPLETED orders, for every product',
      sql<{ n: string }>`select count(*) as n from products`,
      sql<{ what: string }>`
        select format('product %s: initial %s, stock %s, sold %s', p.id, p.initial_stock, p.stock,
          coalesce(s.quantity, 0)) as what
        from products p left join (${sold}) s on s.product_id = p.id
        where p.initial_stock <> p.stock + coalesce(s.quantity, 0)
        order by p.id limit ${SAMPLE}`,
    ),
    check(
      db,
      'points: initial points + charges = points + finalAmount of COMPLETED orders, for every user',
      sql<{ n: string }>`select count(*) as n from users`,
      sql<{ what: string }>`
        with charges as (
          select user_id, sum(amount) as amount from point_history where kind = 'CHARGE' group by user_id
        ), paid as (
          select user_id, sum(final_amount) as amount from orders where status = 'COMPLETED' group by user_id
        )
        select format('user %s: initial %s + charges %s <> points %s + paid %s', u.id, u.initial_points,
          coalesce(c.amount, 0), u.points, coalesce(p.amount, 0)) as what
        from users u left join charges c on c.user_id = u.id left join paid p on p.user_id = u.id
        where u.initial_points + coalesce(c.amount, 0) <> u.points + coalesce(p.amount, 0)
        order by u.id limit ${SAMPLE}`,
    ),
    check(
      db,
      'coupons: a user coupon is used iff the order that used it is COMPLETED',
      sql<{ n: string }>`select count(*) as n from user_coupons`,
      sql<{ what: string }>`
        select format('user coupon %s: used %s by order %s, completed orders using it: %s', uc.id, uc.used,
          coalesce(uc.order_id::text, '-'), coalesce(c.orders, '-')) as what
        from user_coupons uc
        left join (
          select user_coupon_id, string_agg(id::text, ',') as orders, count(*) as n
          from orders where status = 'COMPLETED' and user_coupon_id is not null group by user_coupon_id
        ) c on c.user_coupon_id = uc.id
        left join orders used_by on used_by.id = uc.order_id
        where uc.used <> (c.n is not null)
           or coalesce(c.n, 0) > 1
           or (uc.used and (used_by.status is distinct from 'COMPLETED'))
        order by uc.id limit ${SAMPLE}`,
    ),
    check(
      db,
      'orders: none is PENDING',
      sql<{ n: string }>`select count(*) as n from orders`,
      sql<{ what: string }>`
        select format('order %s is PENDING at step %s', o.id, coalesce(
          (select e.value->>'step' from store_entries e
           where e.store = ${SagaStores.SAGAS} and e.key = o.id::text limit 1), o.saga_step)) as what
        from orders o where o.status = 'PENDING' order by o.id limit ${SAMPLE}`,
    ),
    check(
      db,
      'coupons issued: issued quantity = user coupons, never above the total',
      sql<{ n: string }>`select count(*) as n from coupons`,
      sql<{ what: string }>`
        select format('coupon %s: issued %s, user coupons %s, total %s', c.id, c.issued_quantity,
          coalesce(u.n, 0), c.total_quantity) as what
        from coupons c left join (select coupon_id, count(*) as n from user_coupons group by coupon_id) u
          on u.coupon_id = c.id
        where c.issued_quantity <> coalesce(u.n, 0) or c.issued_quantity > c.total_quantity
        order by c.id limit ${SAMPLE}`,
    ),
  ])
}

/** Quantities sold per (Seoul day, product) in COMPLETED orders: what the Redis ranking must equal. */
export async function soldByDay(
  db: Kysely<Database>,
): Promise<Array<{ day: string; productId: number; quantity: number }>> {
  const { rows } = await sql<{ day: string; product_id: string; quantity: string }>`
    select to_char(o.completed_at at time zone 'Asia/Seoul', 'YYYYMMDD') as day, oi.product_id,
      sum(oi.quantity) as quantity
    from order_items oi join orders o on o.id = oi.order_id
    where o.status = 'COMPLETED' group by 1, 2 order by 1, 2`.execute(db)
  return rows.map((r) => ({ day: r.day, productId: Number(r.product_id), quantity: Number(r.quantity) }))
}
