import { type Kysely, sql } from 'kysely'

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('points', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`points >= 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('coupons')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('discount_type', 'text', (c) => c.notNull().check(sql`discount_type in ('RATE', 'AMOUNT')`))
    .addColumn('discount_value', 'integer', (c) => c.notNull().check(sql`discount_value > 0`))
    // At most 999,999 units: a user coupon's id is couponId * 1,000,000 + the unit's ordinal (see below).
    .addColumn('total_quantity', 'integer', (c) =>
      c.notNull().check(sql`total_quantity between 1 and 999999`),
    )
    .addColumn('issued_quantity', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('min_order_amount', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('coupons_issued_within_total', sql`issued_quantity between 0 and total_quantity`)
    .addCheckConstraint('coupons_rate_is_percent', sql`discount_type <> 'RATE' or discount_value <= 100`)
    .execute()

  // The id is chosen by the coupon processor, not a sequence: couponId * 1,000,000 + ordinal, so a
  // replayed batch writes the same ids and the result event can carry the id before the row exists.
  await db.schema
    .createTable('user_coupons')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id'))
    .addColumn('coupon_id', 'bigint', (c) => c.notNull().references('coupons.id'))
    .addColumn('used', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addUniqueConstraint('user_coupons_one_per_user', ['user_id', 'coupon_id'])
    .execute()

  // One row per issue request: PENDING when the API accepts it, then the processor's decision.
  // No foreign keys: a request may name a coupon or user that does not exist (it is then rejected).
  await db.schema
    .createTable('coupon_issue_requests')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('coupon_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('PENDING', 'ISSUED', 'REJECTED')`))
    .addColumn('reason', 'text')
    .addColumn('user_coupon_id', 'bigint')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .execute()
  await db.schema
    .createIndex('coupon_issue_requests_coupon')
    .on('coupon_issue_requests')
    .column('coupon_id')
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['coupon_issue_requests', 'user_coupons', 'coupons', 'users']) {
    await db.schema.dropTable(table).execute()
  }
}
