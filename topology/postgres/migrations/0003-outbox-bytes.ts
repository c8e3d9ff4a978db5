import { type Kysely, sql } from 'kysely'

/**
 * The outbox becomes byte-exact, and gets a place for records the broker can never take.
 *
 * `key` text -> bytea and `headers` jsonb -> bytea (the encoding of topology/runtime/header-codec.ts):
 * text cannot hold NUL or invalid UTF-8 and jsonb refuses `\u0000`, so a DLQ copy of such a record
 * made its batch's commit fail for ever. Existing rows are converted in place: `convert_to` (not a
 * `::bytea` cast, which would read backslashes as escapes) and `int4send` for the 4-byte big-endian
 * lengths the codec writes. jsonb had already sorted the header names; that order is kept.
 *
 * `outbox_rejected` holds rows the relay moved aside (see topology/postgres/outbox-relay.ts for the replay SQL).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table outbox alter column key type bytea using convert_to(key, 'UTF8')`.execute(db)
  await sql`alter table outbox add column headers_bytes bytea not null default ''::bytea`.execute(db)
  await sql`
    update outbox o set headers_bytes = coalesce((
      select string_agg(
        int4send(octet_length(convert_to(h.key, 'UTF8'))) || convert_to(h.key, 'UTF8')
          || int4send(octet_length(convert_to(h.value, 'UTF8'))) || convert_to(h.value, 'UTF8'),
        ''::bytea order by h.key)
      from jsonb_each_text(o.headers) h
    ), ''::bytea)`.execute(db)
  await sql`alter table outbox drop column headers`.execute(db)
  await sql`alter table outbox rename column headers_bytes to headers`.execute(db)

  await db.schema
    .createTable('outbox_rejected')
    // The outbox row's id: rows of one round are moved in id order, so this is their commit order.
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('key', 'bytea')
    .addColumn('value', 'bytea', (c) => c.notNull())
    .addColumn('headers', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('rejected_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('cause', 'text', (c) => c.notNull())
    .execute()
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox_rejected').execute()
  // Back to text and jsonb: rows holding bytes that text cannot (NUL, invalid UTF-8) make this fail,
  // which is right — dropping them silently would lose outputs.
  await sql`alter table outbox add column headers_json jsonb not null default '{}'::jsonb`.execute(db)
  await sql`
    update outbox o set headers_json = coalesce((
      with recursive entry(at, name, value) as (
        select 0, null::bytea, null::bytea
        union all
        select e.at + 8 + nl + vl,
          substring(o.headers from e.at + 5 for nl),
          substring(o.headers from e.at + 9 + nl for vl)
        from entry e,
          lateral (select get_byte(o.headers, e.at) << 24 | get_byte(o.headers, e.at + 1) << 16
                     | get_byte(o.headers, e.at + 2) << 8 | get_byte(o.headers, e.at + 3) as nl) n,
          lateral (select get_byte(o.headers, e.at + 4 + nl) << 24 | get_byte(o.headers, e.at + 5 + nl) << 16
                     | get_byte(o.headers, e.at + 6 + nl) << 8 | get_byte(o.headers, e.at + 7 + nl) as vl) v
        where e.at < octet_length(o.headers)
      )
      select jsonb_object_agg(convert_from(name, 'UTF8'), convert_from(value, 'UTF8'))
      from entry where name is not null
    ), '{}'::jsonb)`.execute(db)
  await sql`alter table outbox drop column headers`.execute(db)
  await sql`alter table outbox rename column headers_json to headers`.execute(db)
  await sql`alter table outbox alter column key type text using convert_from(key, 'UTF8')`.execute(db)
}
