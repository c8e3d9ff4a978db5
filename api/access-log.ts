/**
 * Request logging: one line per request at debug level only. At info, fastify's default wrote two
 * JSON lines per request (received, completed) — on the flash-sale hot path that was about half of
 * the CPU of a cheap route (`/health/live`: 16.4k requests/s with them, 34.1k without). Counts and
 * latencies per route are in the metrics (`commerce_http_*`); errors are logged where they are handled.
 */
import type { FastifyInstance } from 'fastify'

export function installAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    // pino's levels are numbers: debug is 20, so a logger at info (30) or above skips the line cheaply.
    if (request.log.level !== 'debug' && request.log.level !== 'trace') return
    request.log.debug(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    )
  })
}
