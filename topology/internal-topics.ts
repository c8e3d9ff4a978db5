/**
 * The partition count of each internal topic (a DSL `repartition`'s): the count it declares, else the
 * most partitions among the topics upstream of it, as Kafka Streams does — the repartitioned stream
 * keeps the parallelism of its widest input. The processor reading the topic reads nothing else, so
 * this count is its whole co-partitioning requirement.
 */
import type { Topology } from './builder.ts'

/** Counts for every internal topic; a topic whose count cannot be told (no upstream counts) is absent. */
export function internalTopicPartitions(
  topology: Topology,
  counts: ReadonlyMap<string, number>,
): Map<string, number> {
  const result = new Map<string, number>()
  const visiting = new Set<string>()
  const countOf = (topic: string): number | undefined => {
    const source = topology.nodes.find((n) => n.kind === 'source' && n.topic === topic)
    if (source?.kind !== 'source' || !source.internal) return counts.get(topic)
    if (source.partitions !== undefined) return source.partitions
    if (result.has(topic)) return result.get(topic)
    // A repartition that (through others) feeds itself has no upstream to take a count from.
    if (visiting.has(topic)) return undefined
    visiting.add(topic)
    const upstream = writersOf(topology, topic).flatMap((t) => countOf(t) ?? [])
    visiting.delete(topic)
    return upstream.length > 0 ? Math.max(...upstream) : undefined
  }
  for (const node of topology.nodes) {
    if (node.kind !== 'source' || !node.internal) continue
    const count = countOf(node.topic)
    if (count !== undefined) result.set(node.topic, count)
  }
  return result
}

/** The source topics of every processor that writes `topic`. */
function writersOf(topology: Topology, topic: string): string[] {
  const sinks = new Set(
    topology.nodes.filter((n) => n.kind === 'sink' && n.topic === topic).map((n) => n.name),
  )
  return topology.processors
    .filter((p) => p.sinks.some((s) => sinks.has(s)))
    .flatMap((p) => topology.sourceTopics(p))
}
