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
