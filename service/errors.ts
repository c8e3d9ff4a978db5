/**
 * The error catalogue: every error this product raises has a stable code from this one table, so
 * callers, logs and HTTP clients match on codes, never on messages. `retriable` tells the runtime
 * whether waiting can help (a service down) or not (bad input, bad configuration).
 */
export const ErrorCodes = {
  CONFIG_INVALID: { retriable: false, summary: 'an environment variable has a bad value' },
  DEPENDENCY_UNAVAILABLE: { retriable: true, summary: 'PostgreSQL, Redis or Kafka did not answer' },
  MIGRATION_FAILED: { retriable: false, summary: 'a database migration failed' },
  VALIDATION_FAILED: { retriable: false, summary: 'a request body, parameter or query is invalid' },
  UNAUTHORIZED: { retriable: false, summary: 'the admin token is missing or wrong' },
  NOT_FOUND: { retriable: false, summary: 'no such route or resource' },
  INTERNAL: { retriable: false, summary: 'an unexpected error' },
} as const

export type ErrorCode = keyof typeof ErrorCodes

export class CommerceError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CommerceError'
    this.code = code
    this.retriable = ErrorCodes[code].retriable
  }
}

export function isCommerceError(error: unknown, code?: ErrorCode): error is CommerceError {
  return error instanceof CommerceError && (code === undefined || error.code === code)
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
