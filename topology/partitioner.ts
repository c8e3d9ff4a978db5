/**
 * The Java client's default partitioner for keyed records: `toPositive(murmur2(utf8(key))) % partitions`.
 * One definition, so the TopologyTestDriver places records, `ProcessorContext.partitionFor` predicts
 * them and the outbox relay's producer sends them (`javaPartitioner`) exactly as a Java, or librdkafka
 * `murmur2_random`, producer does.
 */

/** A per-topic counter for records without a key, which go round-robin. */
export interface RoundRobin {
  next: number
}

const SEED = 0x9747b28c
const M = 0x5bd1e995

/**
 * Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`) on 32-bit integers (`Math.imul`).
 * @platformatic/kafka's port computes in BigInt: every operation allocated, and it was the relay's
 * largest single source of garbage (172 MB of 2.6 GB over a 1M-record run) and a share of every task's
 * keyed-ownership check. The result is Java's `int`, signed.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // Java's switch falls through from the third trailing byte to the first.
  const tail = length & 3
  if (tail > 0) {
    if (tail === 3) h ^= data[whole + 2]! << 16
    if (tail >= 2) h ^= data[whole + 1]! << 8
    h ^= data[whole]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/**
 * The partitioner to give a @platformatic/kafka Producer (its `partitioner` option), in place of its
 * `compatibilityPartitioner`: the same hash, `toPositive` applied (the producer takes the modulo).
 */
export function javaPartitioner(_message: unknown, key: Buffer | undefined): number {
  return Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : 0
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
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  return (murmur2(bytes) & 0x7fffffff) % partitions
}
