/** Why a record went to a DLQ: stable codes, carried in the DLQ record's `error.code` header. */
export const RecordErrorCodes = {
  DESERIALIZATION_FAILED: 'the bytes are not UTF-8 JSON',
  VALIDATION_FAILED: 'the value does not match the topic schema',
  KEY_MISMATCH: 'the record key does not match the value',
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
