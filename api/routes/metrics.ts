import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export function metricsRoutes(app: FastifyInstance, opts: { registry: Registry }): void {
  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus text exposition format', hide: false } },
    async (_request, reply) => {
      reply.type(opts.registry.contentType)
      return opts.registry.metrics()
    },
  )
}
