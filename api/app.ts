/**
 * The HTTP transport. `buildApp` only wires routes to what it is given; it opens no connection and
 * listens on no port, so tests build it with whatever dependencies they want.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Health } from '../service/health.ts'
import type { ServiceMetrics } from '../service/metrics.ts'
import { installErrorHandlers } from './errors.ts'
import { healthRoutes } from './routes/health.ts'
import { metricsRoutes } from './routes/metrics.ts'

export interface AppOptions {
  logger: FastifyBaseLogger
  health: Health
  metrics: ServiceMetrics
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    // Validation errors go to our handler, which names the field; coercion turns path ids into numbers.
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false } },
  })
  installErrorHandlers(app)
  await app.register(swagger, {
    openapi: {
      info: { title: 'commerce-streams', version: '0.1.0', description: 'Shop, admin and operations API' },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(healthRoutes, { health: opts.health })
  await app.register(metricsRoutes, { registry: opts.metrics.registry })
  return app
}
