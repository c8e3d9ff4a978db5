/**
 * Which producer errors mean "this record can never be published", as opposed to "not now". The
 * broker answers per partition with a Kafka error code; @platformatic/kafka turns each into a
 * ProtocolError (`apiId` = the code's name, `apiCode` = its number) inside a ResponseError, itself
 * inside the MultipleErrors of a send (or of its retries). We look for the code in that tree, never
 * at message text.
 */

/**
 * Kafka error codes that no retry can fix for the records sent: the record (or batch) is too large
 * or malformed for the broker, or the topic name can never exist. A missing topic is NOT here: the
 * service creates its topics, so a missing one is a deployment problem to wait out (and readiness
 * reports it), not a reason to move records aside.
 */
export const PermanentRefusals = {
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_TIMESTAMP: 32,
  INVALID_RECORD: 87,
} as const
export type PermanentRefusal = keyof typeof PermanentRefusals

export interface Refusal {
  readonly reason: PermanentRefusal
  /** The broker's words, when it gave any. */
  readonly detail: string
}

const codes = new Map<number, PermanentRefusal>(
  Object.entries(PermanentRefusals).map(([id, code]) => [code, id as PermanentRefusal]),
)

/** The permanent refusal inside a send's error, or undefined when the error may pass (transient). */
export function permanentRefusal(error: unknown, depth = 0): Refusal | undefined {
  if (typeof error !== 'object' || error === null || depth > 8) return undefined
  const { apiCode, serverErrorMessage, message, errors, cause } = error as {
    apiCode?: unknown
    serverErrorMessage?: unknown
    message?: unknown
    errors?: unknown
    cause?: unknown
  }
  const reason = typeof apiCode === 'number' ? codes.get(apiCode) : undefined
  if (reason) {
    const detail = typeof serverErrorMessage === 'string' && serverErrorMessage ? serverErrorMessage : message
    return { reason, detail: `${reason}: ${String(detail)}` }
  }
  for (const inner of Array.isArray(errors) ? errors : []) {
    const found = permanentRefusal(inner, depth + 1)
    if (found) return found
  }
  return permanentRefusal(cause, depth + 1)
}
