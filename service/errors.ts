/**
 * The error catalogue: every error this product raises has a stable code from this one table, so
 * callers, logs and HTTP clients match on codes, never on messages. `retriable` tells the runtime
 * whether waiting can help (a service down) or not (bad input, bad configuration).
 */
export { describeError } from '../topology/errors.ts'

export const ErrorCodes = {
  CONFIG_INVALID: { retriable: false, summary: 'an environment variable has a bad value' },
  DEPENDENCY_UNAVAILABLE: { retriable: true, summary: 'PostgreSQL, Redis or Kafka did not answer' },
  OVERLOADED: {
    retriable: true,
    summary: 'too many requests are already waiting for the database: retry after Retry-After seconds',
  },
  VALIDATION_FAILED: { retriable: false, summary: 'a request body, parameter or query is invalid' },
  PAYLOAD_TOO_LARGE: { retriable: false, summary: 'the request body is larger than the server accepts' },
  UNSUPPORTED_MEDIA_TYPE: { retriable: false, summary: 'the request body is not application/json' },
  UNAUTHORIZED: { retriable: false, summary: 'the admin token is missing or wrong' },
  NOT_FOUND: { retriable: false, summary: 'no such route or resource' },
  USER_NOT_FOUND: { retriable: false, summary: 'no user has the given id' },
  COUPON_NOT_FOUND: { retriable: false, summary: 'no coupon has the given id' },
  COUPON_ALREADY_ISSUED: { retriable: false, summary: 'the user already holds this coupon' },
  COUPON_EXPIRED: { retriable: false, summary: 'the coupon expired: it can no longer be issued' },
  PRODUCT_NOT_FOUND: { retriable: false, summary: 'no product has the given id' },
  ORDER_NOT_FOUND: { retriable: false, summary: 'no order has the given id' },
  EMPTY_ORDER: { retriable: false, summary: 'the order has no items: neither in the body nor in the cart' },
  INSUFFICIENT_STOCK: { retriable: false, summary: 'a product has fewer units in stock than the order asks' },
  COUPON_NOT_USABLE: {
    retriable: false,
    summary: "the user coupon is unknown, not the user's, used, expired or above the order total",
  },
  INSUFFICIENT_POINTS: {
    retriable: false,
    summary: "the user has fewer points than the order's final amount",
  },
  REQUEST_NOT_FOUND: {
    retriable: false,
    summary: 'no coupon issue request has the given id for this coupon',
  },
  RANKING_REBUILDING: {
    retriable: true,
    summary:
      'the sales ranking is being rebuilt from PostgreSQL (Redis lost it): retry after Retry-After seconds',
  },
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

// Connection-level failures of PostgreSQL (SQLSTATE class 08, shutdown 57P01-57P03) and of sockets:
// a dependency is down, which is a 503 to retry later, not a 500 bug.
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  // state/db.ts's code for a driver error with no SQLSTATE: the connection failed or was lost.
  'DB_CONNECTION_LOST',
])

/** True when the error means a dependency did not answer, rather than a bug or bad input: by code only. */
export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && (unavailableCodes.has(code) || code.startsWith('08'))) return true
  }
  return false
}
