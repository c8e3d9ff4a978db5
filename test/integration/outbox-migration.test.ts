/** Migration 0003 on rows written by the old schema: outbox keys and headers become bytes, unchanged. */
import { type Kysely, sql } from 'kysely'
import { type Migration, Migrator } from 'kysely/migration'
import { afterAll, describe, expect, it } from 'vitest'
import { createDb } from '../../state/db.ts'
import * as coupons from '../../state/migrations/0002-coupons.ts'
import type { Database } from '../../state/schema.ts'
import * as runtime from '../../topology/postgres/migrations/0001-runtime.ts'
import * as outboxBytes from '../../topology/postgres/migrations/0003-outbox-bytes.ts'
import { decodeHeaders, encodeHeaders } from '../../topology/runtime/header-codec.ts'
import { useInfra } from '../support/infra.ts'

const infra = useInfra()
let db: Kysely<Database> | undefined
afterAll(() => db?.destroy())

const migrations: Record<string, Migration> = {
  '0001-runtime': runtime,
  '0002-coupons': coupons,
  '0003-outbox-bytes': outboxBytes,
}

describe('migration 0003-outbox-bytes', () => {
  it('should convert pending outbox rows to bytes exactly, and back down', async () => {
    db = createDb({ url: infra.databaseUrl })
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
    expect((await migrator.migrateTo('0002-coupons')).error).toBeUndefined()
    // Written as the old schema stored them: a backslash that a `::bytea` cast would read as an escape.
    await sql`insert into outbox (topic, key, value, headers) values
      ('t', 'k\\x41é', '\\x00ff'::bytea, '{"commerce.output-id": "api/1", "b": "é\\\\n"}'::jsonb),
      ('t', null, '\\x01'::bytea, '{}'::jsonb)`.execute(db)

    expect((await migrator.migrateTo('0003-outbox-bytes')).error).toBeUndefined()
    const rows = await db.selectFrom('outbox').select(['key', 'value', 'headers']).orderBy('id').execute()
    expect(rows.map((r) => r.key)).toEqual([Buffer.from('k\\x41é'), null])
    expect(rows.map((r) => r.value)).toEqual([Buffer.from([0x00, 0xff]), Buffer.from([0x01])])
    // jsonb had sorted the names (shorter first); the converted headers keep that order.
    expect(decodeHeaders(rows[0]!.headers)).toEqual(
      decodeHeaders(
        encodeHeaders([
          ['b', 'é\\n'],
          ['commerce.output-id', 'api/1'],
        ]),
      ),
    )
    expect(rows[1]!.headers).toEqual(Buffer.alloc(0))

    expect((await migrator.migrateTo('0002-coupons')).error).toBeUndefined()
    const { rows: back } = await sql<{ key: string | null; headers: unknown }>`
      select key, headers from outbox order by id`.execute(db)
    expect(back).toEqual([
      { key: 'k\\x41é', headers: { 'commerce.output-id': 'api/1', b: 'é\\n' } },
      { key: null, headers: {} },
    ])
  })
})
