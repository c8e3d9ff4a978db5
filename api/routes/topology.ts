import type { FastifyInstance } from 'fastify'
import type { Topology } from '../../topology/builder.ts'
import { describeTopology, topologyToMermaid } from '../../topology/describe.ts'
import type { RuntimeStatus } from '../../topology/runtime/streams-runtime.ts'

export interface TopologyRouteOptions {
  topology: Topology
  /** This instance's tasks and offsets; absent when the instance runs no processors (ROLE=api). */
  status?: () => RuntimeStatus
}

/** `GET /topology`: the topology as data and as a Mermaid graph, and what this instance owns. */
export function topologyRoutes(app: FastifyInstance, opts: TopologyRouteOptions): void {
  const description = describeTopology(opts.topology)
  const mermaid = topologyToMermaid(opts.topology)
  app.get(
    '/topology',
    {
      schema: {
        tags: ['operations'],
        summary:
          'The running topology: sources, processors, stores, sinks, and the partitions this instance owns',
      },
    },
    async () => {
      const status = opts.status?.()
      const owned = status?.tasks.map((t) => {
        const [processor, partition] = t.task.split('/')
        return {
          processor,
          partition: Number(partition),
          status: t.status,
          problem: t.problem,
          nextOffsets: t.positions,
        }
      })
      return {
        ...description,
        mermaid,
        instance: status ? { id: status.instanceId, memberId: status.memberId, owned } : null,
      }
    },
  )
}
