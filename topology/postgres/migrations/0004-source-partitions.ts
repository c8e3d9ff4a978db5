import { type Kysely, sql } from 'kysely'

// Migrations take Kysely<any>: they describe the schema as it was then, not today's types.
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function up(db: Kysely<any>): Promise<void> {
  // The partition count each source topic had when an application first ran on it. Partition-local
  // state (a coupon's counters) is keyed by partition: with more partitions a key hashes elsewhere and
  // its requests would be split across two tasks, so start-up compares and refuses a changed count.
  await db.schema
    .createTable('stream_source_partitions')
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('partitions', 'integer', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('stream_source_partitions_pk', ['application_id', 'topic'])
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('stream_source_partitions').execute()
}
