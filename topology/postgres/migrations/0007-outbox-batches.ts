import { type Kysely, sql } from 'kysely'
import { StreamsError } from '../../errors.ts'

// Migrations take Kysely<any>: they describe the schema as it was then, not today's types.
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function up(db: Kysely<any>): Promise<void> {
  // A task's committed outputs: one row per batch (topology/postgres/outbox-batch-codec.ts), where
  // `outbox` holds one row per record (what the API writes, one request at a time). `published` counts
  // the batch's records already sent, in order, when a relay round ended inside the batch.
  await db.schema
    .createTable('outbox_batches')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('records', 'bytea', (c) => c.notNull())
    .addColumn('record_count', 'integer', (c) => c.notNull())
    .addColumn('published', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // Stored out of line and uncompressed: the values are mostly JSON that pglz would compress, but
  // compressing on insert and decompressing on read cost more CPU than the bytes are worth, and a row
  // is deleted within a second of being written.
  await sql`alter table outbox_batches alter column records set storage external`.execute(db)
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  // Refuses while batches wait: dropping them would lose outputs the relay has not published yet.
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from outbox_batches`.execute(db)
  if ((rows[0]?.n ?? 0) > 0)
    throw new StreamsError('MIGRATION_FAILED', `outbox_batches holds ${rows[0]!.n} unpublished batches`)
  await db.schema.dropTable('outbox_batches').execute()
}
