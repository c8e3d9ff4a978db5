/**
 * The library's error catalogue: every error the stream library raises for the application (not per
 * record) has a stable code here, with whether waiting can help. Match on codes, never on messages.
 */
export const StreamsErrorCodes = {
  OPTIONS_INVALID: {
    retriable: false,
    summary: 'the options given to the library are invalid (every problem listed)',
  },
  MIGRATION_FAILED: { retriable: false, summary: "a migration of the library's own tables failed" },
  TASK_NOT_RUNNING: {
    retriable: false,
    summary: 'a batch was handed to a task that is not running (fenced, stopped or closed)',
  },
  NOT_A_SOURCE: { retriable: false, summary: 'a record of a topic the task does not read was handed to it' },
  UNDECLARED_USE: {
    retriable: false,
    summary: 'a processor used a store, lookup, table or sink it did not declare',
  },
  OUTSIDE_RECORD: {
    retriable: false,
    summary: 'emit, forward or write was called while no record was being processed',
  },
  NO_READER: {
    retriable: false,
    summary: 'the state backend has no reader for a declared lookup, or no writer for a declared table',
  },
  TIMEOUT: { retriable: true, summary: 'an operation did not answer in time' },
  PARTITION_UNAVAILABLE: {
    retriable: true,
    summary: "a partition cannot be fetched now (no leader known, a position past the log's end)",
  },
  GROUP_LOST: { retriable: true, summary: 'the consumer lost its group membership; it rejoins' },
  STOPPING: { retriable: false, summary: 'the runtime is stopping: work in flight ends' },
  DRIVER_MISUSE: { retriable: false, summary: 'the TopologyTestDriver was used in a way it does not allow' },
} as const
export type StreamsErrorCode = keyof typeof StreamsErrorCodes

export class StreamsError extends Error {
  readonly code: StreamsErrorCode
  readonly retriable: boolean
  constructor(code: StreamsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StreamsError'
    this.code = code
    this.retriable = StreamsErrorCodes[code].retriable
  }
}

export function isStreamsError(error: unknown, code?: StreamsErrorCode): error is StreamsError {
  return error instanceof StreamsError && (code === undefined || error.code === code)
}

/** Why a record went to a DLQ: stable codes, carried in the DLQ record's `error.code` header. */
export const RecordErrorCodes = {
  DESERIALIZATION_FAILED: 'the bytes are not UTF-8 JSON',
  VALIDATION_FAILED: 'the value does not match the topic schema',
  KEY_MISMATCH: 'the record key does not match the value',
  WRONG_PARTITION: 'the record is not on the partition its key hashes to: another task owns the key',
  PROCESSING_FAILED: 'the processor threw on a valid record, after its retries',
  COMMIT_REJECTED: 'the state backend refused to store what the record produced (a data error)',
} as const
export type RecordErrorCode = keyof typeof RecordErrorCodes

export class RecordError extends Error {
  readonly code: RecordErrorCode
  constructor(code: RecordErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RecordError'
    this.code = code
  }
}

/** Topology definition mistakes, found by `build()` before anything runs. */
export class TopologyError extends Error {
  readonly problems: readonly string[]
  constructor(problems: string[]) {
    super(`invalid topology:\n  ${problems.join('\n  ')}`)
    this.name = 'TopologyError'
    this.problems = Object.freeze([...problems])
  }
}

/** A processor used a store in a way the store's declaration does not allow: a bug in the processor. */
export const StoreErrorCodes = {
  KEY_NOT_DECLARED: "the key is not among the keys the store's key function declared for this batch",
  NOT_ENUMERABLE: 'a keyed store holds only the keys batches declared, so it cannot list its entries',
} as const
export type StoreErrorCode = keyof typeof StoreErrorCodes

export class StoreError extends Error {
  readonly code: StoreErrorCode
  constructor(code: StoreErrorCode, message: string) {
    super(message)
    this.name = 'StoreError'
    this.code = code
  }
}

/** One line with the error and its causes: library errors often say "failed" and keep the reason in `cause`. */
export function describeError(error: unknown): string {
  const parts: string[] = []
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = e instanceof Error ? e.message : String(e)
    if (message && !parts.includes(message)) parts.push(message)
    e = e instanceof Error ? e.cause : undefined
  }
  return parts.join(': ') || 'unknown error'
}
