/** What a task's batch did, as counts and per-record facts the runner turns into metrics. */
import type { RecordErrorCode } from '../errors.ts'

export interface BatchResult {
  /** Records consumed: processed, or rejected to the DLQ. */
  consumed: number
  dlq: number
  /** The committed records, per source topic, and the DLQ causes (for metrics). */
  committed: Array<{ topic: string; timestamp: number }>
  dead: Array<{ topic: string; code: RecordErrorCode }>
  /** Source topics of the records skipped because their output id was applied already. */
  duplicates: string[]
  outputs: number
  /** The partition stopped on a record (error policy "stop"); that record was not committed. */
  stoppedAt?: { topic: string; offset: bigint; error: string }
}

export const emptyResult = (): BatchResult => ({
  consumed: 0,
  dlq: 0,
  outputs: 0,
  committed: [],
  dead: [],
  duplicates: [],
})

/** One result for a batch that was split in two and committed as two. */
export function mergeResults(a: BatchResult, b: BatchResult): BatchResult {
  return {
    consumed: a.consumed + b.consumed,
    dlq: a.dlq + b.dlq,
    outputs: a.outputs + b.outputs,
    committed: [...a.committed, ...b.committed],
    dead: [...a.dead, ...b.dead],
    duplicates: [...a.duplicates, ...b.duplicates],
    ...(b.stoppedAt ? { stoppedAt: b.stoppedAt } : {}),
  }
}
