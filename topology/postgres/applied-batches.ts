/**
 * A batch's applied output ids as rows of stream_applied_batches: one per source topic, its digests
 * (32 bytes each) and their offsets (8 bytes each, big-endian) concatenated in partition order. One
 * row per batch instead of one per id: an id's row, inserted and later deleted, cost PostgreSQL more
 * CPU than the rest of a de-duplicating commit's bookkeeping.
 */
import type { Kysely } from 'kysely'
import type { AppliedId, TaskId } from '../runtime/backend.ts'
import type { StreamsDatabase } from './schema.ts'

const DIGEST_BYTES = 32
const OFFSET_BYTES = 8

/** Column arrays for the commit statement's unnest, one element per topic the batch applied ids of. */
export interface AppliedRows {
  readonly topics: string[]
  readonly lastOffsets: string[]
  readonly digests: Buffer[]
  readonly offsets: Buffer[]
}

export function appliedRows(ids: readonly AppliedId[]): AppliedRows {
  const byTopic = new Map<string, AppliedId[]>()
  for (const id of ids) {
    const own = byTopic.get(id.topic)
    if (own) own.push(id)
    else byTopic.set(id.topic, [id])
  }
  const rows: AppliedRows = { topics: [], lastOffsets: [], digests: [], offsets: [] }
  for (const [topic, own] of byTopic) {
    const offsets = Buffer.allocUnsafe(own.length * OFFSET_BYTES)
    for (const [i, id] of own.entries()) offsets.writeBigInt64BE(id.offset, i * OFFSET_BYTES)
    rows.topics.push(topic)
    rows.lastOffsets.push(String(own.at(-1)!.offset))
    // One string, one copy: the digests are latin1 strings of 32 characters.
    rows.digests.push(Buffer.from(own.map((id) => id.digest).join(''), 'latin1'))
    rows.offsets.push(offsets)
  }
  return rows
}

/**
 * The task's applied ids at or after `since`'s offset of their topic, in offset order per topic. A row
 * whose last id is before it was forgotten already, or is about to be; its ids are left out too.
 */
export async function loadAppliedIds(
  db: Kysely<StreamsDatabase>,
  task: TaskId,
  since: ReadonlyMap<string, bigint>,
): Promise<AppliedId[]> {
  if (since.size === 0) return []
  const rows = await db
    .selectFrom('stream_applied_batches')
    .select(['topic', 'last_offset', 'digests', 'offsets'])
    .where('application_id', '=', task.applicationId)
    .where('processor', '=', task.processor)
    .where('partition', '=', task.partition)
    .where('topic', 'in', [...since.keys()])
    .orderBy('topic')
    .orderBy('last_offset')
    .execute()
  const ids: AppliedId[] = []
  for (const { topic, last_offset, digests, offsets } of rows) {
    const start = since.get(topic)!
    if (BigInt(last_offset) < start) continue
    for (let i = 0; i < offsets.length / OFFSET_BYTES; i++) {
      const offset = offsets.readBigInt64BE(i * OFFSET_BYTES)
      // A string of its own per digest (not a slice of one string of the row), so that the window
      // keeps 32 bytes per id and not the whole row while any of its ids is remembered.
      if (offset >= start)
        ids.push({
          topic,
          offset,
          digest: digests.toString('latin1', i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
        })
    }
  }
  return ids
}
