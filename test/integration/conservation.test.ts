/**
 * The conservation check (CONTRACT.md 2.8) on real PostgreSQL: silent on a consistent shop, and naming
 * the product, user, coupon or order when one law is broken. The saga tests and the demo trust it, so
 * each law is broken here once to see it caught.
 */
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkConservation, soldByDay } from '../../state/conservation.ts'
import type { Database } from '../../state/schema.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let db: Kysely<Database>
beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
})
afterAll(() => db?.destroy())

const broken = async () =>
  Object.fromEntries((await checkConservation(db)).map((i) => [i.name.split(':')[0], i.violations]))

describe('checkConservation', () => {
  it('should hold for a shop where one order completed, one failed and a charge was applied', async () => {
    await sql`
      insert into users (id, name, points) values (1, 'ann', 1000), (2, 'bob', 50);
      insert into products (id, name, price, stock) values (10, 'pen', 100, 5), (11, 'ink', 30, 2);
      insert into coupons (id, name, discount_type, discount_value, total_quantity, issued_quantity)
        values (7, 'ten', 'AMOUNT', 10, 5, 1);
      insert into user_coupons (id, user_id, coupon_id, issued_at) values (7000001, 1, 7, now());
    `.execute(db)
    // Ann buys 2 pens and 1 ink (230) with the coupon (-10): 220 points. Bob's order failed.
    await sql`
      insert into orders (id, user_id, status, total_amount, discount_amount, final_amount, user_coupon_id,
        origin, completed_at) values (100, 1, 'COMPLETED', 230, 10, 220, 7000001, 'API', '2026-12-01T10:00:00Z');
      insert into orders (id, user_id, status, failure_reason, total_amount, discount_amount, final_amount,
        origin) values (101, 2, 'FAILED', 'INSUFFICIENT_POINTS', 100, 0, 100, 'API');
      insert into order_items values (100, 10, 'pen', 100, 2), (100, 11, 'ink', 30, 1), (101, 10, 'pen', 100, 1);
      update products set stock = stock - 2 where id = 10;
      update products set stock = stock - 1 where id = 11;
      update users set points = points - 220 + 500 where id = 1;
      insert into point_history (event_id, user_id, kind, amount, balance_after)
        values ('charge/c1', 1, 'CHARGE', 500, 1500);
      update user_coupons set used = true, order_id = 100 where id = 7000001;
    `.execute(db)
    const invariants = await checkConservation(db)
    expect(invariants.map((i) => [i.holds, i.violations])).toEqual(invariants.map(() => [true, []]))
    expect(invariants.find((i) => i.name.startsWith('stock'))?.checked).toBe(2)
    // 10:00 UTC is 19:00 in Seoul, the same day.
    expect(await soldByDay(db)).toEqual([
      { day: '20261201', productId: 10, quantity: 2 },
      { day: '20261201', productId: 11, quantity: 1 },
    ])
  })

  it('should name what breaks each law', async () => {
    await sql`
      update products set stock = stock - 1 where id = 10;
      update users set points = points + 1 where id = 2;
      update user_coupons set order_id = 101 where id = 7000001;
      insert into orders (id, user_id, status, total_amount, discount_amount, final_amount, origin)
        values (102, 2, 'PENDING', 0, 0, 0, 'TOPIC'), (103, 2, 'PENDING', 0, 0, 0, 'API');
      -- Where a running saga stands is in its store: the order row says RECEIVED until the end.
      insert into store_entries (application_id, store, partition, key, value)
        values ('shop', 'order-sagas', 0, '103', '{"step":"POINTS","status":"PENDING"}');
      update coupons set issued_quantity = 2 where id = 7;
    `.execute(db)
    expect(await broken()).toEqual({
      stock: ['product 10: initial 5, stock 2, sold 2'],
      points: ['user 2: initial 50 + charges 0 <> points 51 + paid 0'],
      coupons: ['user coupon 7000001: used t by order 101, completed orders using it: 100'],
      orders: ['order 102 is PENDING at step RECEIVED', 'order 103 is PENDING at step POINTS'],
      'coupons issued': ['coupon 7: issued 2, user coupons 1, total 5'],
    })
  })
})
