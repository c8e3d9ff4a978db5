/**
 * A relay round over `outbox_batches` (a task's outputs, one row per committed batch): the same round
 * as over `outbox` rows (outbox-round.ts) — the longest prefix, in commit order, whose records fit the
 * broker's batch limit — but a round may end inside a batch row. The row then remembers how many of its
 * records went out (`published`), and the next round starts after them: nothing is sent twice for a
 * round that ended early, and a round never holds more than one produce request may.
 */
import { sql, type Transaction } from 'kysely'
import { arrayLiteral } from './array-literal.ts'
import { BatchDecodeError, decodeBatch } from './outbox-batch-codec.ts'
import { BATCH_OVERHEAD, type OutboxRow, type RoundOutcome, recordBytes } from './outbox-round.ts'
import type { StreamsDatabase } from './schema.ts'

interface BatchRow {
  id: string
  records: Buffer
  record_count: number
  published: number
  created_ms: number
}

/**
 * The next round's records, from the oldest batch rows on: at most `maxRecords`, and at most
 * `maxBatchBytes` (at least one record). Reads only the batch rows the round can reach, by their
 * stored bytes and unpublished records, so a round decodes little more than it sends.
 */
export async function nextBatchRound(
  trx: Transaction<StreamsDatabase>,
  maxRecords: number,
  maxBatchBytes: number,
): Promise<OutboxRow[]> {
  const { rows } = await sql<BatchRow>`
    with head as (
      select id,
        sum(octet_length(records)) over w - octet_length(records) as bytes_before,
        sum(record_count - published) over w - (record_count - published) as records_before
      from outbox_batches window w as (order by id) order by id limit ${maxRecords}
    )
    select b.id, b.records, b.record_count, b.published, extract(epoch from b.created_at) * 1000 as created_ms
    from head h join outbox_batches b using (id)
    where h.bytes_before < ${maxBatchBytes} and h.records_before < ${maxRecords}
    order by b.id`.execute(trx)
  const round: OutboxRow[] = []
  let bytes = BATCH_OVERHEAD
  for (const row of rows) {
    const created_ms = Number(row.created_ms)
    const records = decoded(row)
    // A stand-in for an unreadable row counts as the row's only record: settling it deletes the row.
    const count = records[0]?.unreadable === undefined ? row.record_count : 1
    for (const [index, record] of records.entries()) {
      if (index < row.published) continue
      const size = recordBytes(record.key, record.value, record.headers)
      if (round.length > 0 && (round.length >= maxRecords || bytes + size > maxBatchBytes)) return round
      bytes += size
      round.push({
        id: `${row.id}#${index}`,
        ...record,
        created_ms,
        bytes: size,
        batch: { id: row.id, index, count },
      })
    }
  }
  return round
}

/**
 * A row the relay cannot read is not ours to drop: one stand-in record holds it, which the round moves
 * aside (UNREADABLE_BATCH, with the cause) so that the rows after it go on.
 */
function decoded(row: BatchRow): Array<Omit<OutboxRow, 'id' | 'created_ms' | 'bytes'>> {
  let cause: string
  try {
    const records = decodeBatch(row.records)
    if (records.length === row.record_count) return records
    cause = `outbox batch holds ${records.length} records, its row says ${row.record_count}`
  } catch (error) {
    if (!(error instanceof BatchDecodeError)) throw error
    cause = error.message
  }
  return [{ topic: '', key: null, value: row.records, headers: Buffer.alloc(0), unreadable: cause }]
}

/**
 * Settles a round of batch records: a batch whose records are all published or moved aside is deleted,
 * one that the round ended inside remembers how far it got; rejected records are moved to
 * `outbox_rejected` under new ids from the outbox's sequence (their batch has no row id per record).
 */
export async function settleBatchRound(
  trx: Transaction<StreamsDatabase>,
  outcome: RoundOutcome,
): Promise<void> {
  const settled = [...outcome.published, ...outcome.rejected.map((r) => r.row)]
  if (settled.length === 0) return
  // The settled records of a round are its prefix (publishRound stops at the first transient error):
  // per batch, the furthest index settled is where it now stands.
  const reached = new Map<string, { published: number; count: number }>()
  for (const { batch } of settled) {
    if (!batch) continue
    const at = reached.get(batch.id)
    if (!at || batch.index + 1 > at.published)
      reached.set(batch.id, { published: batch.index + 1, count: batch.count })
  }
  const done = [...reached].filter(([, r]) => r.published >= r.count).map(([id]) => id)
  const partial = [...reached].filter(([, r]) => r.published < r.count)
  const rejected = outcome.rejected
  await sql`
    with gone as (delete from outbox_batches where id = any(${arrayLiteral(done)}::bigint[])),
    moved as (
      update outbox_batches b set published = p.n
      from unnest(${arrayLiteral(partial.map(([id]) => id))}::bigint[],
        ${arrayLiteral(partial.map(([, r]) => r.published))}::int[]) as p(id, n)
      where b.id = p.id
    )
    insert into outbox_rejected (id, topic, key, value, headers, created_at, reason, cause)
    select nextval(pg_get_serial_sequence('outbox', 'id')), r.topic, r.key, r.value, r.headers,
      to_timestamp(r.created_ms / 1000.0), r.reason, r.cause
    from unnest(${arrayLiteral(rejected.map((r) => r.row.topic))}::text[],
      ${arrayLiteral(rejected.map((r) => r.row.key))}::bytea[],
      ${arrayLiteral(rejected.map((r) => r.row.value))}::bytea[],
      ${arrayLiteral(rejected.map((r) => r.row.headers))}::bytea[],
      ${arrayLiteral(rejected.map((r) => r.row.created_ms))}::float8[],
      ${arrayLiteral(rejected.map((r) => r.reason))}::text[],
      ${arrayLiteral(rejected.map((r) => r.cause))}::text[]) with ordinality
      as r(topic, key, value, headers, created_ms, reason, cause, n)
    order by r.n`.execute(trx)
}
