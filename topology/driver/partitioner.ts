/** The driver's placement of records: each key on the partition the relay's producer would choose. */
import { partitionForKey, type RoundRobin } from '../partitioner.ts'

/** Partitions keys per topic, with a round-robin counter per topic for null keys. */
export class KeyPartitioner {
  readonly #counters = new Map<string, RoundRobin>()
  readonly #partitions: (topic: string) => number

  constructor(partitions: (topic: string) => number) {
    this.#partitions = partitions
  }

  partition(topic: string, key: string | Buffer | null): number {
    let counter = this.#counters.get(topic)
    if (!counter) {
      counter = { next: 0 }
      this.#counters.set(topic, counter)
    }
    return partitionForKey(key, this.#partitions(topic), counter)
  }
}
