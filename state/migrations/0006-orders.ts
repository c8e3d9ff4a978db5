import { type Kysely, sql } from 'kysely'

/**
 * The order saga's tables. Each counter has one writer, the partition that owns it (CONTRACT.md 2.10):
 * `products.stock` the product's owner, `users.points` and `user_coupons.used` the user's owner,
 * `orders.status` the order's owner. `initial_stock` and `initial_points` never change after creation:
 * the conservation check (CONTRACT.md 2.8) compares them with what the saga did.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('products')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('price', 'bigint', (c) => c.notNull().check(sql`price >= 0`))
    .addColumn('stock', 'integer', (c) => c.notNull().check(sql`stock >= 0`))
    .addColumn('initial_stock', 'integer', (c) => c.check(sql`initial_stock >= 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema.alterTable('users').addColumn('initial_points', 'bigint').execute()
  await sql`update users set initial_points = points`.execute(db)
  await sql`alter table users alter column initial_points set not null`.execute(db)
  // Whoever inserts a user or product (the API, a test, a bulk load) gets its starting balance recorded.
  await sql`
    create function remember_initial() returns trigger language plpgsql as $$
    begin
      if tg_table_name = 'users' then new.initial_points := coalesce(new.initial_points, new.points);
      else new.initial_stock := coalesce(new.initial_stock, new.stock);
      end if;
      return new;
    end $$`.execute(db)
  await sql`create trigger users_initial before insert on users for each row execute function remember_initial()`.execute(
    db,
  )
  await sql`create trigger products_initial before insert on products for each row execute function remember_initial()`.execute(
    db,
  )
  await sql`alter table products alter column initial_stock set not null`.execute(db)

  // The order that used the coupon: a restore un-uses it only for that order.
  await db.schema.alterTable('user_coupons').addColumn('order_id', 'bigint').execute()

  await db.schema
    .createTable('cart_items')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id'))
    .addColumn('product_id', 'bigint', (c) => c.notNull().references('products.id'))
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('cart_items_pk', ['user_id', 'product_id'])
    .execute()

  // Ids come from `orders_id_seq` for orders our API creates; an order produced straight to the topic
  // by another service brings its own. No foreign keys: such an order may name a user or product that
  // does not exist, and it must still be recorded (FAILED, with the reason).
  await sql`create sequence orders_id_seq`.execute(db)
  await db.schema
    .createTable('orders')
    .addColumn('id', 'bigint', (c) => c.primaryKey().defaultTo(sql`nextval('orders_id_seq')`))
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('PENDING', 'COMPLETED', 'FAILED')`))
    .addColumn('failure_reason', 'text')
    // Where the saga stands: RECEIVED, STOCK, POINTS, COUPON, DONE (see processors/order-saga.ts).
    .addColumn('saga_step', 'text', (c) => c.notNull().defaultTo('RECEIVED'))
    .addColumn('total_amount', 'bigint', (c) => c.notNull().check(sql`total_amount >= 0`))
    .addColumn('discount_amount', 'bigint', (c) => c.notNull().check(sql`discount_amount >= 0`))
    .addColumn('final_amount', 'bigint', (c) => c.notNull().check(sql`final_amount >= 0`))
    .addColumn('user_coupon_id', 'bigint')
    // API: created by POST /orders; TOPIC: created from an order-created-topic event we had not seen.
    .addColumn('origin', 'text', (c) => c.notNull().check(sql`origin in ('API', 'TOPIC')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .addColumn('failed_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('orders_by_user').on('orders').columns(['user_id', 'id desc']).execute()
  await db.schema.createIndex('orders_by_status').on('orders').columns(['status', 'completed_at']).execute()

  // The price and name at order time: a product renamed or repriced later does not change an order.
  await db.schema
    .createTable('order_items')
    .addColumn('order_id', 'bigint', (c) => c.notNull().references('orders.id'))
    .addColumn('product_id', 'bigint', (c) => c.notNull())
    .addColumn('product_name', 'text', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addPrimaryKeyConstraint('order_items_pk', ['order_id', 'product_id'])
    .execute()

  // Every change of a balance, with the balance after it. `event_id` makes each change idempotent:
  // `charge/<chargeId>`, `payment/<orderId>`, `restore/<eventId>`.
  await db.schema
    .createTable('point_history')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('CHARGE', 'PAYMENT', 'RESTORE')`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('balance_after', 'bigint', (c) => c.notNull().check(sql`balance_after >= 0`))
    .addColumn('order_id', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('point_history_by_user')
    .on('point_history')
    .columns(['user_id', 'id'])
    .execute()

  // The restore events each owner applied (CONTRACT.md 1: applied once per eventId by the owner).
  await db.schema
    .createTable('applied_restores')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('STOCK', 'POINT', 'COUPON')`))
    .addColumn('order_id', 'bigint', (c) => c.notNull())
    // What the owner did: APPLIED, or IGNORED with why (e.g. the coupon is used by another order).
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'applied_restores',
    'point_history',
    'order_items',
    'orders',
    'cart_items',
    'products',
  ])
    await db.schema.dropTable(table).execute()
  await sql`drop sequence orders_id_seq`.execute(db)
  await sql`drop trigger users_initial on users`.execute(db)
  await sql`drop function remember_initial()`.execute(db)
  await db.schema.alterTable('user_coupons').dropColumn('order_id').execute()
  await db.schema.alterTable('users').dropColumn('initial_points').execute()
}
