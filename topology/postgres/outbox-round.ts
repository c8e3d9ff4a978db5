/**
 * One relay round: which outbox rows go together, and what becomes of each. A round is the longest
 * prefix of the outbox (in commit order) whose records fit the broker's batch limit, so no partition's
 * share of a round can exceed it. Rows are published in that order; a group the broker refuses for
 * good is split in halves, sent half after half, until the culprit stands alone and is moved aside.
 */
import { type Kysely, sql, type Transaction } from 'kysely'
import { decodeHeaders, type HeaderBytes } from '../runtime/header-codec.ts'
import { headerText } from '../runtime/header-text.ts'
import { arrayLiteral } from './array-literal.ts'
import { permanentRefusal } from './kafka-refusals.ts'
import type { StreamsDatabase } from './schema.ts'

/** The broker's default `message.max.bytes`: the most one partition's batch in a produce may hold. */
export const BROKER_MAX_BATCH_BYTES = 1_048_588

// Kafka's record batch v2 header, and a record's worst-case framing (length, attributes, timestamp
// and offset deltas, key and value lengths, header count as varints). A header's two length varints
// take at most 10 bytes where the outbox encoding takes 8: `headers * 5 / 4` covers the difference.
export const BATCH_OVERHEAD = 61
const RECORD_OVERHEAD = 36

/** An upper bound of a record's size in a Kafka batch: the bound nextRound computes in SQL, rounded up. */
export const recordBytes = (key: Buffer | null, value: Buffer, headers: Buffer) =>
  value.length + (key?.length ?? 0) + Math.ceil((headers.length * 5) / 4) + RECORD_OVERHEAD

export interface OutboxRow {
  readonly id: string
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer
  readonly headers: Buffer
  readonly created_ms: number
  /** An upper bound of the record's size in a Kafka batch. */
  readonly bytes: number
  /** A record of an `outbox_batches` row: the row, the record's index in it, and its record count. */
  readonly batch?: { readonly id: string; readonly index: number; readonly count: number }
  /** Moved aside without asking the broker: the relay could not read what was stored. */
  readonly unreadable?: string
}

export interface Rejection {
  readonly row: OutboxRow
  /** A Kafka error code (PermanentRefusals) or the relay's own verdict. */
  readonly reason: string
  readonly cause: string
}

export interface RoundOutcome {
  readonly published: OutboxRow[]
  readonly rejected: Rejection[]
  /** A transient error that stopped the round; what was settled before it still commits. */
  readonly error?: unknown
}

/** Reads the next round: at most `maxRows` rows whose records fit `maxBatchBytes`, at least one row. */
export async function nextRound(
  trx: Transaction<StreamsDatabase> | Kysely<StreamsDatabase>,
  maxRows: number,
  maxBatchBytes: number,
): Promise<OutboxRow[]> {
  // Sizes come from octet_length, which reads the stored length without fetching a large value: the
  // values of rows past the budget are never loaded.
  const { rows } = await sql<OutboxRow & { bytes: string }>`
    with head as (
      select id, octet_length(value) + coalesce(octet_length(key), 0) + octet_length(headers) * 5 / 4
        + ${RECORD_OVERHEAD}::int as bytes
      from outbox order by id limit ${maxRows}
    ),
    sized as (select id, bytes, sum(bytes) over (order by id) as running, min(id) over () as first_id from head)
    select o.id, o.topic, o.key, o.value, o.headers, s.bytes::bigint as bytes,
      -- Milliseconds as a number: parsing a Date per row cost more than the metric is worth.
      extract(epoch from o.created_at) * 1000 as created_ms
    from sized s join outbox o using (id)
    where s.running <= ${maxBatchBytes - BATCH_OVERHEAD} or s.id = s.first_id
    order by o.id`.execute(trx)
  return rows.map((r) => ({ ...r, bytes: Number(r.bytes), created_ms: Number(r.created_ms) }))
}

export type Send = (rows: ReadonlyArray<{ row: OutboxRow; headers: HeaderBytes }>) => Promise<void>

/** Publishes a round through `send`, isolating what the broker refuses for good. Never throws. */
export async function publishRound(
  rows: OutboxRow[],
  maxBatchBytes: number,
  send: Send,
): Promise<RoundOutcome> {
  const published: OutboxRow[] = []
  const rejected: Rejection[] = []
  const sendable: Array<{ row: OutboxRow; headers: HeaderBytes }> = []
  for (const row of rows) {
    const verdict = precheck(row, maxBatchBytes)
    if ('reason' in verdict) rejected.push(verdict)
    else sendable.push({ row, headers: verdict.headers })
  }

  const sendIsolating = async (group: typeof sendable): Promise<void> => {
    if (group.length === 0) return
    try {
      await send(group)
      published.push(...group.map((g) => g.row))
    } catch (error) {
      const refusal = permanentRefusal(error)
      if (!refusal) throw error
      if (group.length === 1) {
        rejected.push({
          row: group[0]!.row,
          reason: refusal.reason,
          cause: headerText(refusal.detail, 2_000),
        })
        return
      }
      // Halves in order: per-key order holds for every row but the culprit. The rows of the failed
      // group that the broker did take are sent again: publication is at least once anyway.
      const half = Math.ceil(group.length / 2)
      await sendIsolating(group.slice(0, half))
      await sendIsolating(group.slice(half))
    }
  }

  try {
    await sendIsolating(sendable)
    return { published, rejected }
  } catch (error) {
    return { published, rejected, error }
  }
}

function precheck(row: OutboxRow, maxBatchBytes: number): Rejection | { headers: HeaderBytes } {
  if (row.unreadable !== undefined)
    return { row, reason: 'UNREADABLE_BATCH', cause: headerText(row.unreadable, 2_000) }
  // Alone over the limit, a record can never be published: no need to ask the broker.
  if (row.bytes + BATCH_OVERHEAD > maxBatchBytes) {
    const cause = `a record of up to ${row.bytes + BATCH_OVERHEAD} bytes exceeds the broker's limit of ${maxBatchBytes} bytes (maxBatchBytes)`
    return { row, reason: 'MESSAGE_TOO_LARGE', cause }
  }
  try {
    return { headers: decodeHeaders(row.headers) }
  } catch (error) {
    return { row, reason: 'UNREADABLE_HEADERS', cause: headerText(String(error), 2_000) }
  }
}

/** Deletes the published rows and moves the rejected ones to `outbox_rejected`, in one statement. */
export async function settleRound(trx: Transaction<StreamsDatabase>, outcome: RoundOutcome): Promise<void> {
  const { published, rejected } = outcome
  if (published.length === 0 && rejected.length === 0) return
  await sql`
    with rejected as (
      select * from unnest(${arrayLiteral(rejected.map((r) => r.row.id))}::bigint[],
        ${arrayLiteral(rejected.map((r) => r.reason))}::text[],
        ${arrayLiteral(rejected.map((r) => r.cause))}::text[]) as r(id, reason, cause)
    ),
    gone as (
      delete from outbox where id = any(${arrayLiteral([...published, ...rejected.map((r) => r.row)].map((r) => r.id))}::bigint[])
      returning *
    )
    insert into outbox_rejected (id, topic, key, value, headers, created_at, reason, cause)
    select g.id, g.topic, g.key, g.value, g.headers, g.created_at, r.reason, r.cause
    from gone g join rejected r using (id)`.execute(trx)
}
