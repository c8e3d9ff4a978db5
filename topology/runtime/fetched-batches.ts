/**
 * Turns one partition's fetched record batches into the records a task processes, and says where the
 * next fetch starts. Pure: the unit tests feed it hand-made batches.
 */
import type { RecordsBatch } from '@platformatic/kafka'
import type { RawRecord, RecordHeaders } from '../record.ts'

const TRANSACTIONAL_BATCH = 0x10
const CONTROL_BATCH = 0x20
const LOG_APPEND_TIME = 0x08
/** A control record's key is (version: int16, type: int16); type 0 is ABORT, 1 is COMMIT. */
const ABORT_MARKER = 0

export interface AbortedTransaction {
  producerId: bigint
  firstOffset: bigint
}

export interface PartitionRecords {
  records: RawRecord[]
  /**
   * The offset after the last whole batch of the response, transaction markers and aborted batches
   * included: they are offsets a task never sees, so the fetch position (and the task's committed
   * position) must move past them, or the same marker is fetched forever.
   */
  nextOffset: bigint
  /** The wire size of the batches the response held (what a fetch's partitionMaxBytes limits). */
  fetchedBytes: number
}

/** A batch's bytes before its `length` field counts: firstOffset (int64) and length (int32). */
const BATCH_PREAMBLE = 12

/**
 * Data records at or after `from`, in offset order, without transaction markers and without the records
 * of aborted transactions. The broker lists, per partition, the aborted transactions overlapping the
 * fetched range (READ_COMMITTED); as in the Java consumer, a producer's data batches are dropped from
 * its aborted transaction's first offset until its ABORT marker — which may lie beyond this response,
 * in which case the next fetch lists the same transaction again.
 */
export function partitionRecords(
  topic: string,
  partition: number,
  batches: readonly RecordsBatch[],
  from: bigint,
  aborted: readonly AbortedTransaction[] = [],
): PartitionRecords {
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
  const aborting = new Set<bigint>()
  const records: RawRecord[] = []
  let nextOffset = from
  let fetchedBytes = 0
  for (const batch of batches) {
    fetchedBytes += BATCH_PREAMBLE + batch.length
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
    if (end > nextOffset) nextOffset = end
    while (
      pending.length > 0 &&
      pending[0]!.firstOffset <= batch.firstOffset + BigInt(batch.lastOffsetDelta)
    ) {
      aborting.add(pending.shift()!.producerId)
    }
    if (batch.attributes & CONTROL_BATCH) {
      if (controlType(batch) === ABORT_MARKER) aborting.delete(batch.producerId)
      continue
    }
    if (batch.attributes & TRANSACTIONAL_BATCH && aborting.has(batch.producerId)) continue
    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta)
      // A fetch returns whole batches, which may start before the offset asked for.
      if (offset < from) continue
      const headers: Record<string, string> = {}
      for (const [k, v] of record.headers) if (k) headers[k.toString()] = v?.toString() ?? ''
      records.push({
        topic,
        partition,
        offset,
        key: record.key,
        value: record.value,
        timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
        headers: headers as RecordHeaders,
      })
    }
  }
  return { records, nextOffset, fetchedBytes }
}

function controlType(batch: RecordsBatch): number | undefined {
  const key = batch.records[0]?.key
  return key && key.length >= 4 ? key.readInt16BE(2) : undefined
}
