/**
 * Creates the topology's internal topics (a DSL `repartition`'s, with their DLQs) at start-up, as
 * Kafka Streams does: nobody else knows they exist. Before the partition checks, so those see them.
 */
import type { Admin } from '@platformatic/kafka'
import type { Topology } from '../builder.ts'
import { TopologyError } from '../errors.ts'
import { internalTopicPartitions } from '../internal-topics.ts'

export interface InternalTopic {
  topic: string
  partitions: number
}

/**
 * Every internal topic and its DLQ with the partitions it needs, given the partition counts of the
 * other source topics; a TopologyError when a count cannot be told.
 */
export function internalTopicSpecs(
  topology: Topology,
  external: ReadonlyMap<string, number>,
): InternalTopic[] {
  const counts = internalTopicPartitions(topology, external)
  const specs: InternalTopic[] = []
  const problems: string[] = []
  for (const node of topology.nodes) {
    if (node.kind !== 'source' || !node.internal) continue
    const partitions = counts.get(node.topic)
    if (partitions === undefined)
      problems.push(`internal topic "${node.topic}": no upstream topic to size it by`)
    else specs.push({ topic: node.topic, partitions }, { topic: `${node.topic}.dlq`, partitions })
  }
  if (problems.length > 0) throw new TopologyError(problems)
  return specs
}

/**
 * Creates the missing ones; returns their names. Existing topics stay as they are: growing one would
 * move keys to other partitions. The replication factor is the broker's default.
 */
export async function createInternalTopics(
  admin: Pick<Admin, 'listTopics' | 'createTopics'>,
  specs: readonly InternalTopic[],
): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const missing = specs.filter((s) => !existing.has(s.topic))
  if (missing.length === 0) return []
  try {
    await admin.createTopics({ topics: missing.map(({ topic, partitions }) => ({ topic, partitions })) })
  } catch (error) {
    // Another instance may have created some of them between our list and create: check again.
    const now = new Set(await admin.listTopics())
    if (missing.some((s) => !now.has(s.topic))) throw error
  }
  return missing.map((s) => s.topic)
}
