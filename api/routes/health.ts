import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { Health } from '../../service/health.ts'

const Component = Type.Object({
  ok: Type.Optional(Type.Boolean()),
  ms: Type.Optional(Type.Number()),
  error: Type.Optional(Type.String()),
})

const Readiness = Type.Object({
  status: Type.Optional(Type.Enum(['ready', 'not_ready'], { type: 'string' })),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  failing: Type.Optional(Type.Array(Type.String())),
  components: Type.Optional(Type.Record(Type.String(), Component)),
})

export function healthRoutes(instance: FastifyInstance, opts: { health: Health }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.get(
    '/health/live',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Optional(Type.String()) }) },
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
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const report = await opts.health.report()
      if (report.ready) return { status: 'ready' as const, failing: [], components: report.components }
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
