/**
 * What a task's pipeline holds, derived from what flows through it: every arrival adds its records,
 * every committed batch takes its records off the front. The fetch loop reads it for back-pressure
 * (bytes held) and fetch positions; the lag gauge for the oldest record waiting.
 */
import type { RawRecord } from '../record.ts'
import type { Arrival, Batch } from './batch-records.ts'
import type { FetchedPartition } from './fetcher.ts'

export interface Ledger {
  /** Where the next fetch of each source topic starts. */
  readonly from: ReadonlyMap<string, bigint>
  /** Fetched records not yet committed, in order: waiting for a batch, or in the commit in flight. */
  readonly held: readonly RawRecord[]
  /** Sum of `queuedBytes` over `held`. */
  readonly bytes: number
}

export type LedgerEvent = { kind: 'arrived'; arrival: Arrival } | { kind: 'committed'; batch: Batch }

export function openLedger(positions: ReadonlyMap<string, bigint>): Ledger {
  return { from: new Map(positions), held: [], bytes: 0 }
}

/**
 * What a held record costs beyond its bytes: the RawRecord object, the Buffer objects of its key and
 * value, its headers object, its offset (a bigint) and its slot in the queue. Measured in a heap
 * snapshot of the runtime benchmark (160,000 held records: about 380 bytes each), rounded up. For
 * small records it is most of the cost: a 40-byte record takes ~450 bytes of heap while held, so a
 * bound on bytes alone let a 2 MiB queue hold 50,000 of them (~25 MB of heap per task).
 */
export const HELD_RECORD_OVERHEAD = 512

/** A record's size as the ledger accounts it: the memory it keeps alive, key + value + headers + overhead. */
export function queuedBytes(record: RawRecord): number {
  let bytes = HELD_RECORD_OVERHEAD + (record.key?.length ?? 0) + (record.value?.length ?? 0)
  // `for...in`, not Object.entries: this runs three times per record (fetched, held, committed).
  const { headers } = record
  for (const name in headers)
    if (Object.hasOwn(headers, name)) bytes += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!)
  return bytes
}

const sumBytes = (records: readonly RawRecord[]) => records.reduce((n, r) => n + queuedBytes(r), 0)

export function settle(ledger: Ledger, event: LedgerEvent): Ledger {
  if (event.kind === 'committed') {
    const count = event.batch.records.length
    if (count === 0) return ledger
    return {
      ...ledger,
      held: ledger.held.slice(count),
      bytes: ledger.bytes - sumBytes(ledger.held.slice(0, count)),
    }
  }
  const { topic, records, next } = event.arrival
  return {
    from: next === undefined ? ledger.from : new Map(ledger.from).set(topic, next),
    held: records.length === 0 ? ledger.held : [...ledger.held, ...records],
    bytes: ledger.bytes + sumBytes(records),
  }
}

/**
 * What a fetch brings past the ledger's position: records already held or committed (a re-fetch) are
 * dropped, and the position moves past the last record, or further to the fetch's next offset
 * (transaction markers, aborted records). Undefined when it brings nothing and moves nothing, or the
 * task does not read the topic.
 */
export function arrivalOf(fetched: FetchedPartition, ledger: Ledger): Arrival | undefined {
  const from = ledger.from.get(fetched.topic)
  if (from === undefined) return undefined
  const records = fetched.records.filter((r) => r.offset >= from)
  let next = records.length > 0 ? records.at(-1)!.offset + 1n : from
  if (fetched.nextOffset > next) next = fetched.nextOffset
  if (records.length === 0 && next === from) return undefined
  return { topic: fetched.topic, records, next }
}

/** A reset of the fetch position to `offset` (the log start, past deleted records), if it moves forward. */
export function resetOf(topic: string, offset: bigint, ledger: Ledger): Arrival | undefined {
  const from = ledger.from.get(topic)
  if (from === undefined || offset <= from) return undefined
  return { topic, records: [], next: offset }
}
