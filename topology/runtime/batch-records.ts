/**
 * The first stage of a task's pipeline: fetched records become batches, by count or by time — a batch
 * goes out as soon as it holds `maxBatch` records, or `lingerMs` after its first arrival, whichever
 * comes first (Kafka's `batch.size` / `linger.ms`, on the consuming side).
 */
import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs'
import type { RawRecord } from '../record.ts'

/**
 * What a fetch brings one task for one topic: its new records, and where the next fetch of the topic
 * starts. `next` may lie past the last record — transaction markers and aborted records hold offsets
 * with nothing to process, and a reset past deleted records brings no record at all — and committing
 * it is what keeps a restart from reading those offsets again.
 */
export interface Arrival {
  readonly topic: string
  readonly records: readonly RawRecord[]
  /** The fetch position after this arrival; absent on the front part of an arrival split by a batch. */
  readonly next?: bigint
}

/** Records to commit together, in order, and the positions to move to (past markers and resets). */
export interface Batch {
  readonly records: readonly RawRecord[]
  readonly advance: ReadonlyMap<string, bigint>
}

export function toBatch(arrivals: readonly Arrival[]): Batch {
  const advance = new Map<string, bigint>()
  for (const a of arrivals) if (a.next !== undefined) advance.set(a.topic, a.next)
  return { records: arrivals.flatMap((a) => a.records), advance }
}

/** One batch of both, in order: the later batch's positions are the further ones. */
export function joinBatches(first: Batch, second: Batch): Batch {
  return {
    records: [...first.records, ...second.records],
    advance: new Map([...first.advance, ...second.advance]),
  }
}

/**
 * Batches arrivals: a batch holds at most `maxBatch` records (an arrival larger than the room left is
 * split; only its last part carries `next`), and an arrival without records still makes a batch, so
 * a fetch position that moved past markers or deleted records gets committed.
 *
 * The source completing stops the batching: what waits for its linger is dropped, not flushed. The
 * pipeline completes its source when the task stops, and records that were never committed are
 * fetched again by the partition's next owner.
 */
export function batchRecords(
  maxBatch: number,
  lingerMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<Arrival, Batch> {
  return (source) =>
    new Observable<Batch>((subscriber) => {
      let pending: Arrival[] = []
      let count = 0
      let linger: Subscription | undefined
      const emit = () => {
        linger?.unsubscribe()
        linger = undefined
        const batch = toBatch(pending)
        pending = []
        count = 0
        subscriber.next(batch)
      }
      const subscription = source.subscribe({
        next(arrival) {
          let records = arrival.records
          while (records.length > 0 && count + records.length >= maxBatch) {
            const room = maxBatch - count
            const whole = room === records.length
            pending.push(
              whole ? { ...arrival, records } : { topic: arrival.topic, records: records.slice(0, room) },
            )
            records = records.slice(room)
            emit()
            if (whole) return
          }
          pending.push({ ...arrival, records })
          count += records.length
          linger ??= scheduler.schedule(emit, lingerMs)
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      })
      return () => {
        subscription.unsubscribe()
        linger?.unsubscribe()
      }
    })
}
