/** Maps the error catalogue to HTTP: one place decides every status code the API answers with. */
import type { FastifyError, FastifyInstance } from 'fastify'
import { type ErrorCode, isCommerceError } from '../service/errors.ts'

const statusOf: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  DEPENDENCY_UNAVAILABLE: 503,
}

export const errorBodySchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      // fastify/ajv: instancePath names the field ("/userId"); missing properties name it in params.
      const first = error.validation[0]
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
      const field = [
        error.validationContext,
        first?.instancePath.replace(/^\//, '').replaceAll('/', '.') || missing,
      ]
        .filter(Boolean)
        .join('.')
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: `${field}: ${first?.message}` })
    }
    if (isCommerceError(error)) {
      return reply.status(statusOf[error.code] ?? 500).send({ code: error.code, message: error.message })
    }
    if (error.statusCode && error.statusCode < 500) {
      // fastify's own client errors (bad JSON, wrong content type, body too large).
      const code = error.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED'
      return reply.status(error.statusCode === 404 ? 404 : 400).send({ code, message: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` }),
  )
}
