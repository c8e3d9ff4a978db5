/** The TopologyTestDriver's options: validated once, at construction, with every problem in one error. */
import type { Topology } from '../builder.ts'
import { TopologyError } from '../errors.ts'
import { internalTopicPartitions } from '../internal-topics.ts'

export interface TestDriverOptions {
  /**
   * Partitions of every topic, or per topic (others: the count their source declares, else 3; an
   * internal topic's the most among its upstream topics, as the runtime creates it).
   */
  partitions?: number | Readonly<Record<string, number>>
  /** The clock's start, in ms since the epoch (default 0): the driver's time only moves by `advanceTime`. */
  startTime?: number
  /** Records per batch, i.e. per commit, of one task (default 100). */
  batchSize?: number
  /** The owner name the tasks claim with. */
  owner?: string
}

export interface DriverConfig {
  readonly startTime: number
  readonly batchSize: number
  readonly owner: string
  /** The partition count of a topic. */
  partitions(topic: string): number
  /** Throws a RangeError unless `partition` is one of the topic's. */
  checkPartition(topic: string, partition: number): void
}

const DEFAULT_PARTITIONS = 3

/**
 * Validates the options; throws a RangeError for bad values and a TopologyError when the topology's
 * sources do not fit the partition counts (see `Topology.checkPartitions`).
 */
export function driverConfig(topology: Topology, options: TestDriverOptions): DriverConfig {
  const { partitions, startTime = 0, batchSize = 100, owner = 'topology-test-driver' } = options
  const problems: string[] = []
  const counts = typeof partitions === 'object' ? Object.entries(partitions) : [['every topic', partitions]]
  for (const [topic, count] of counts) {
    if (count !== undefined && !isCount(count))
      problems.push(`partitions of ${topic}: ${count} is not a positive integer`)
  }
  if (!Number.isFinite(startTime)) problems.push(`startTime: ${startTime} is not a finite number`)
  if (!isCount(batchSize)) problems.push(`batchSize: ${batchSize} is not a positive integer`)
  if (problems.length > 0) throw new RangeError(`invalid TopologyTestDriver options: ${problems.join('; ')}`)

  const declared = new Map<string, number>()
  for (const node of topology.nodes) {
    if (node.kind === 'source' && node.partitions !== undefined) declared.set(node.topic, node.partitions)
  }
  const given = (topic: string): number => {
    if (typeof partitions === 'number') return partitions
    if (partitions && Object.hasOwn(partitions, topic)) return partitions[topic]!
    return declared.get(topic) ?? DEFAULT_PARTITIONS
  }
  const { inputs, internal } = topology.topics()
  const internalCounts = internalTopicPartitions(
    topology,
    new Map(inputs.filter((t) => !internal.includes(t)).map((t) => [t, given(t)])),
  )
  const explicit = (topic: string) =>
    typeof partitions === 'number' || (partitions !== undefined && Object.hasOwn(partitions, topic))
  const partitionsOf = (topic: string): number =>
    explicit(topic) ? given(topic) : (internalCounts.get(topic) ?? given(topic))
  const mismatches = topology.checkPartitions(new Map(inputs.map((t) => [t, partitionsOf(t)])))
  if (mismatches.length > 0) throw new TopologyError(mismatches)
  const checkPartition = (topic: string, partition: number): void => {
    const count = partitionsOf(topic)
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw new RangeError(`${topic} has no partition ${partition} (it has ${count})`)
    }
  }
  return Object.freeze({ startTime, batchSize, owner, partitions: partitionsOf, checkPartition })
}

const isCount = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0
