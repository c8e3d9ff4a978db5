/**
 * The driver's stand-in for the outbox relay and the output topics: committed outbox records are
 * "published" in commit order, each to the partition its key maps to, and read back per topic with a
 * cursor (like a consumer) or all at once.
 */
import type { RecordHeaders } from '../record.ts'
import type { OutboxRecord } from '../runtime/backend.ts'
import type { TestDlqRecord, TestOutput } from './types.ts'

export interface PublishedRecord {
  readonly topic: string
  readonly partition: number
  readonly key: Buffer | null
  readonly value: Buffer
  readonly headers: RecordHeaders
}

export class OutputLog {
  readonly #topics = new Map<string, PublishedRecord[]>()
  readonly #cursors = new Map<string, number>()
  readonly #partitionOf: (topic: string, key: Buffer | null) => number
  #relayed = 0

  constructor(partitionOf: (topic: string, key: Buffer | null) => number) {
    this.#partitionOf = partitionOf
  }

  /** Publishes the outbox records not relayed yet; returns them. */
  relay(outbox: readonly OutboxRecord[]): PublishedRecord[] {
    const published = outbox.slice(this.#relayed).map((o) => {
      const record: PublishedRecord = Object.freeze({ ...o, partition: this.#partitionOf(o.topic, o.key) })
      this.#log(o.topic).push(record)
      return record
    })
    this.#relayed = outbox.length
    return published
  }

  /** Every record published to `topic`. */
  all(topic: string): readonly PublishedRecord[] {
    return this.#log(topic)
  }

  /** The records published to `topic` since the last `read` of it. */
  read(topic: string): PublishedRecord[] {
    const log = this.#log(topic)
    const records = log.slice(this.#cursors.get(topic) ?? 0)
    this.#cursors.set(topic, log.length)
    return records
  }

  #log(topic: string): PublishedRecord[] {
    let log = this.#topics.get(topic)
    if (!log) {
      log = []
      this.#topics.set(topic, log)
    }
    return log
  }
}

export function toOutput<V>(record: PublishedRecord): TestOutput<V> {
  const { key, headers, partition } = record
  // A processor's output keys are strings, so UTF-8 gives them back exactly.
  return {
    key: key === null ? null : key.toString('utf8'),
    value: JSON.parse(record.value.toString('utf8')) as V,
    headers,
    partition,
  }
}

export function toDlqRecord({ key, value, headers, partition }: PublishedRecord): TestDlqRecord {
  return { key, value, headers, partition }
}
