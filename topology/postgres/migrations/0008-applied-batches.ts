import { type Kysely, sql } from 'kysely'
import * as appliedIds from './0005-applied-ids.ts'

// Migrations take Kysely<any>: they describe the schema as it was then, not today's types.
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function up(db: Kysely<any>): Promise<void> {
  // The output ids a task applied, one row per batch and source topic (applied-batches.ts) where
  // stream_applied_ids held one row per id: a row inserted and later deleted per id cost PostgreSQL
  // 12-17 µs of CPU each (its two indexes, WAL, a dead tuple). `digests` holds the batch's sha256
  // digests, 32 bytes each, `offsets` the source offset of each, 8 bytes big-endian, in the same order.
  // A task reads its rows once, when it opens; its commits forget by the key's last column, so a row
  // stays while any of its ids is inside the window.
  await db.schema
    .createTable('stream_applied_batches')
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('processor', 'text', (c) => c.notNull())
    .addColumn('partition', 'integer', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('last_offset', 'bigint', (c) => c.notNull())
    .addColumn('digests', 'bytea', (c) => c.notNull())
    .addColumn('offsets', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_applied_batches_pk', [
      'application_id',
      'processor',
      'partition',
      'topic',
      'last_offset',
    ])
    .execute()
  // Out of line and uncompressed, as outbox_batches: digests do not compress, and trying costs CPU.
  await sql`alter table stream_applied_batches alter column digests set storage external`.execute(db)
  await sql`alter table stream_applied_batches alter column offsets set storage external`.execute(db)
  // A deployed service must not forget the ids it applied before the upgrade: each task's ids move
  // into one row per topic, in offset order. The old table then goes, so that an instance still
  // running the old code cannot commit ids the new one would not read: its commits fail (a missing
  // table, retried as transient) until it is stopped.
  await sql`
    insert into stream_applied_batches
      (application_id, processor, partition, topic, last_offset, digests, offsets)
    select application_id, processor, partition, topic, max(record_offset),
      string_agg(digest, ''::bytea order by record_offset),
      string_agg(int8send(record_offset), ''::bytea order by record_offset)
    from stream_applied_ids
    group by application_id, processor, partition, topic`.execute(db)
  await db.schema.dropTable('stream_applied_ids').execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await appliedIds.up(db)
  // Every id back into a row of its own: the 8 offset bytes read as a 64-bit big-endian integer.
  await sql`
    insert into stream_applied_ids (application_id, processor, partition, digest, topic, record_offset)
    select application_id, processor, partition, substring(digests from i * 32 + 1 for 32), topic,
      ('x' || encode(substring(offsets from i * 8 + 1 for 8), 'hex'))::bit(64)::bigint
    from stream_applied_batches, generate_series(0, length(offsets) / 8 - 1) as i
    on conflict do nothing`.execute(db)
  await db.schema.dropTable('stream_applied_batches').execute()
}
