import type { FastifyInstance } from 'fastify'
import type { Health } from '../../service/health.ts'

const component = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, ms: { type: 'number' }, error: { type: 'string' } },
} as const

const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    code: { type: 'string' },
    message: { type: 'string' },
    failing: { type: 'array', items: { type: 'string' } },
    components: { type: 'object', additionalProperties: component },
  },
} as const

export function healthRoutes(app: FastifyInstance, opts: { health: Health }): void {
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'live' }),
  )

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'PostgreSQL, Redis and Kafka answer and the processors run; 503 names the failing part',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const report = await opts.health.report()
      if (report.ready) return { status: 'ready', failing: [], components: report.components }
      const message = report.failing.map((c) => `${c}: ${report.components[c]?.error}`).join('; ')
      return reply.status(503).send({
        status: 'not_ready',
        code: 'DEPENDENCY_UNAVAILABLE',
        message,
        failing: report.failing,
        components: report.components,
      })
    },
  )
}
