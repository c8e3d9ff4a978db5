import type { Kysely } from 'kysely'

// Migrations take Kysely<any>: they describe the schema as it was then, not today's types.
// biome-ignore lint/suspicious/noExplicitAny: see above
export async function up(db: Kysely<any>): Promise<void> {
  // The output ids each task applied, for skipping the outbox's re-sent copies: a sha256 of the id
  // (any header fits), with the source position of the record that carried it. A batch looks up its
  // own ids by the primary key and forgets, by the second index, those that left its window.
  await db.schema
    .createTable('stream_applied_ids')
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('processor', 'text', (c) => c.notNull())
    .addColumn('partition', 'integer', (c) => c.notNull())
    .addColumn('digest', 'bytea', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('record_offset', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_applied_ids_pk', ['application_id', 'processor', 'partition', 'digest'])
    .execute()
  await db.schema
    .createIndex('stream_applied_ids_window')
    .on('stream_applied_ids')
    // The topic leads so that this index cannot serve a lookup by digest: sharing the primary key's
    // leading columns, it was chosen for one on a fresh table and the whole window was filtered.
    .columns(['topic', 'partition', 'application_id', 'processor', 'record_offset'])
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('stream_applied_ids').execute()
}
