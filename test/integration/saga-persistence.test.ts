/**
 * The saga processors' readers and writers on real PostgreSQL: the rows the TopologyTestDriver
 * committed for a small order rush are applied through the processors' own table writers, and the shop
 * must then satisfy every conservation law (CONTRACT.md 2.8); the lookups read what the rows hold.
 */
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shopTopology } from '../../processors/shop-topology.ts'
import { checkConservation } from '../../state/conservation.ts'
import type { Database } from '../../state/schema.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'
import { SagaDriver } from '../support/saga-driver.ts'

const infra = useInfra()
let db: Kysely<Database>
beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
})
afterAll(() => db?.destroy())

const topology = shopTopology('shop')
const node = <K extends 'lookup' | 'table'>(kind: K, name: string) => {
  const found = topology.nodes.find((n) => n.kind === kind && n.name === name)
  if (!found) throw new Error(`no ${kind} ${name}`)
  return found as Extract<(typeof topology.nodes)[number], { kind: K }>
}

describe('the saga processors on PostgreSQL', () => {
  it('should commit a rush of orders so that every conservation law holds, and read back what they wrote', async () => {
    await sql`
      insert into users (id, name, points) values (1, 'ann', 1000), (2, 'bob', 300), (3, 'cy', 0);
      insert into products (id, name, price, stock) values (10, 'pen', 100, 3), (11, 'ink', 50, 2);
      insert into coupons (id, name, discount_type, discount_value, total_quantity, issued_quantity)
        values (7, 'ten', 'AMOUNT', 10, 5, 1);
      insert into user_coupons (id, user_id, coupon_id, issued_at) values (7000001, 1, 7, now());
    `.execute(db)
    const s = new SagaDriver({
      products: { 10: { stock: 3, price: 100 }, 11: { stock: 2, price: 50 } },
      users: { 1: 1000, 2: 300, 3: 0 },
      coupons: { 7000001: { userId: 1, orderId: null } },
    })
    // Orders produced straight to the topic: two race for ann's coupon, some run out of stock or points.
    s.order(1, 1, [[10, 1]], { finalAmount: 90, userCouponId: 7000001 })
    s.order(2, 1, [[11, 1]], { finalAmount: 40, userCouponId: 7000001 })
    for (let orderId = 3; orderId <= 12; orderId++)
      s.order(orderId, (orderId % 3) + 1, [[10 + (orderId % 2), 1]])
    s.order(13, 9, [[10, 1]])
    await s.process()
    expect(Object.keys(s.outcomes())).toHaveLength(13)

    await db.transaction().execute(async (trx) => {
      for (const name of [
        'saga-orders',
        'product-stock-levels',
        'user-point-levels',
        'point-history',
        'user-coupon-states',
        'restore-outcomes',
      ]) {
        const rows = s.driver.table(name)
        if (rows.length > 0) await node('table', name).write!(trx, rows)
      }
    })

    const invariants = await checkConservation(db)
    expect(invariants.map((i) => [i.name, i.violations])).toEqual(invariants.map((i) => [i.name, []]))
    const orders = await db
      .selectFrom('orders')
      .select(['id', 'status', 'failure_reason', 'origin'])
      .execute()
    expect(orders).toHaveLength(13)
    expect(orders.every((o) => o.origin === 'TOPIC' && o.status !== 'PENDING')).toBe(true)
    expect(
      Object.fromEntries(
        orders.map((o) => [o.id, o.status === 'FAILED' ? `FAILED ${o.failure_reason}` : o.status]),
      ),
    ).toEqual(s.outcomes())

    // The lookups read back what the writers committed: the owners' fallbacks agree with their stores.
    const read = (name: string, keys: string[]) => node('lookup', name).read!(db, keys)
    expect(await read('product-stock-rows', ['10', '11', '99'])).toEqual(
      new Map([
        ['10', s.stock(10)],
        ['11', s.stock(11)],
      ]),
    )
    expect(await read('user-point-rows', ['1', '2', '3'])).toEqual(
      new Map([1, 2, 3].map((u) => [String(u), s.points(u)])),
    )
    expect(await read('user-coupon-rows', ['7000001'])).toEqual(new Map([['7000001', s.coupon(7000001)]]))
    expect((await read('order-products', ['10']))?.get('10')).toEqual({ name: 'pen', price: 100 })
  })
})
