/**
 * A batch built in SQL (batchPrefix + batchRecordSql, as the API's issue statement builds one) is the
 * batch encodeBatch writes, byte for byte: the relay reads both with one decoder.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import {
  batchPrefix,
  batchRecordSql,
  decodeBatch,
  encodeBatch,
} from '../../topology/postgres/outbox-batch-codec.ts'
import type { OutboxRecord } from '../../topology/runtime/backend.ts'
import { encodeHeaders } from '../../topology/runtime/header-codec.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let destroy: () => Promise<void> = async () => {}
afterAll(() => destroy())

describe('an outbox batch built in SQL', () => {
  it('should be byte for byte the batch encodeBatch writes, null and empty keys and any bytes included', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const topic = 'coupon-issue-topic'
    const records: OutboxRecord[] = [
      { topic, key: Buffer.from('7'), value: Buffer.from('{"a":1}'), headers: { id: 'x\u0000y' } },
      { topic, key: null, value: Buffer.from([0, 255, 1]), headers: {} },
      { topic, key: Buffer.alloc(0), value: Buffer.alloc(0), headers: { é: 'ü' } },
    ]
    const { rows } = await sql<{ batch: Buffer }>`
      select ${batchPrefix(topic)}::bytea
        || string_agg(${batchRecordSql(sql`r.k`, sql`r.v`, sql`r.h`)}, ''::bytea order by r.n) as batch
      from unnest(${records.map((r) => r.key)}::bytea[], ${records.map((r) => r.value)}::bytea[],
        ${records.map((r) => encodeHeaders(r.headers))}::bytea[]) with ordinality as r(k, v, h, n)`.execute(
      db,
    )
    expect(rows[0]!.batch).toEqual(encodeBatch(records))
    expect(decodeBatch(rows[0]!.batch).map((r) => r.key)).toEqual([Buffer.from('7'), null, Buffer.alloc(0)])
  })
})
