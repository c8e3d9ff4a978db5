/**
 * The Java client's default partitioner for keyed records, which the outbox relay's producer uses
 * (`compatibilityPartitioner`): `toPositive(murmur2(utf8(key))) % partitions`. One definition, so the
 * TopologyTestDriver places records and `ProcessorContext.partitionFor` predicts them exactly as the
 * relay (or a Java, or librdkafka `murmur2_random`, producer) sends them.
 */
import { compatibilityPartitioner } from '@platformatic/kafka'

/** A per-topic counter for records without a key, which go round-robin. */
export interface RoundRobin {
  next: number
}

/**
 * The partition of `key` among `partitions`. A null key takes the round-robin counter's next partition
 * (partition 0 without a counter). The Java producer has sent null keys to a "sticky" partition per
 * batch since Kafka 2.4; round-robin keeps the driver deterministic without modelling batches.
 */
export function partitionForKey(
  key: string | Buffer | null,
  partitions: number,
  roundRobin?: RoundRobin,
): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`)
  }
  if (key === null) return roundRobin ? roundRobin.next++ % partitions : 0
  // compatibilityPartitioner returns the masked hash (toPositive) only; the producer applies the modulo.
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  return compatibilityPartitioner({ topic: '' }, bytes) % partitions
}
