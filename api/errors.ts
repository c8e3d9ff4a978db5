/** Maps the error catalogue to HTTP: one place decides every status code the API answers with. */

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { describeError, type ErrorCode, isCommerceError, isUnavailable } from '../service/errors.ts'

const statusOf: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  COUPON_NOT_FOUND: 404,
  COUPON_ALREADY_ISSUED: 409,
  COUPON_EXPIRED: 410,
  REQUEST_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  EMPTY_ORDER: 400,
  INSUFFICIENT_STOCK: 409,
  COUPON_NOT_USABLE: 409,
  INSUFFICIENT_POINTS: 409,
  DEPENDENCY_UNAVAILABLE: 503,
  OVERLOADED: 503,
  RANKING_REBUILDING: 503,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
}

/** Codes that mean "come back later", with the Retry-After (seconds) they answer with. */
const retryAfterSeconds: Partial<Record<ErrorCode, number>> = {
  // The issue queue holds about a second of statements at its default bound (state/coupon-requests.ts).
  OVERLOADED: 1,
  // A rebuild reads 8 days of orders and writes them in one script: about a second at most here.
  RANKING_REBUILDING: 1,
}

/** fastify's own client errors, by status: bad JSON and the like are VALIDATION_FAILED. */
const clientErrors: Record<number, ErrorCode> = {
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
}

/** Every error response: the catalogue's code and a message that names the field or the cause. */
export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() })

/**
 * Answers `error` with its status and code. Also called outside fastify's error handler, for errors
 * the framework raises before a route is found (a URL that does not decode).
 */
export function replyWithError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation) {
    // fastify/ajv: instancePath names the field ("/userId"); a missing property is named in params,
    // below the object that lacks it ("/items/1" lacks "productId": body.items.1.productId).
    const first = error.validation[0]
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
    const field = [
      error.validationContext,
      first?.instancePath.replace(/^\//, '').replaceAll('/', '.'),
      missing,
    ]
      .filter(Boolean)
      .join('.')
    return reply.status(400).send({ code: 'VALIDATION_FAILED', message: `${field}: ${first?.message}` })
  }
  if (isCommerceError(error)) {
    const retryAfter = retryAfterSeconds[error.code]
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
    return reply.status(statusOf[error.code] ?? 500).send({ code: error.code, message: error.message })
  }
  if (error.statusCode && error.statusCode < 500) {
    const code = clientErrors[error.statusCode] ?? 'VALIDATION_FAILED'
    return reply.status(statusOf[code] ?? 400).send({ code, message: error.message })
  }
  if (isUnavailable(error)) {
    request.log.warn({ error: describeError(error) }, 'dependency unavailable')
    return reply.status(503).send({ code: 'DEPENDENCY_UNAVAILABLE', message: describeError(error) })
  }
  request.log.error({ err: error }, 'unhandled error')
  return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' })
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler(replyWithError)
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` }),
  )
}
