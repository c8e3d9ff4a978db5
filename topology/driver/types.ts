/** The TopologyTestDriver's public data types. */
import type { RecordHeaders } from '../record.ts'

export interface PipeOptions {
  /** Default: the Java client's partition for the key (null keys go round-robin). */
  partition?: number
  /** Default: the driver's clock. */
  timestamp?: number
  headers?: RecordHeaders
}

/** A record a sink published, its value JSON-parsed. */
export interface TestOutput<V = unknown> {
  readonly key: string | null
  readonly value: V
  readonly headers: RecordHeaders
  /** The partition the Java client's partitioner gives the key, for the topic's partition count. */
  readonly partition: number
}

/** A record sent to `<topic>.dlq`: the original key and value bytes, and the error in the headers. */
export interface TestDlqRecord {
  readonly key: Buffer | null
  readonly value: Buffer
  readonly headers: RecordHeaders
  readonly partition: number
}

/** What one `process()` call did. */
export interface ProcessSummary {
  batches: number
  /** Records consumed: processed or sent to a DLQ. */
  consumed: number
  dlq: number
  outputs: number
  /** Records skipped because their partition had applied their output id already. */
  duplicates: number
  /** Batches run again because their commit failed (see `failNextCommits`). */
  commitRetries: number
}

export interface StoppedTask {
  readonly processor: string
  readonly partition: number
  readonly reason: string
}
