/**
 * Fetches chosen partitions from chosen offsets with the client's low-level Fetch API. The runtime
 * decides every offset (from PostgreSQL), can leave a full partition out of a round (per-partition
 * back-pressure) and restart one anywhere — which a subscription stream cannot do.
 */
import type { ClusterMetadata, Consumer, FetchOptions, RecordsBatch } from '@platformatic/kafka'

type FetchRequestTopic = FetchOptions<Buffer, Buffer, Buffer, Buffer>['topics'][number]

import type { RawRecord, RecordHeaders } from '../record.ts'

export interface FetchTarget {
  topic: string
  partition: number
  offset: bigint
  /** At most this many bytes for the partition this round (the task's free queue space). */
  maxBytes?: number
}

export interface FetchedPartition {
  topic: string
  partition: number
  records: RawRecord[]
  highWatermark: bigint
  logStartOffset: bigint
  /** A Kafka error code other than 0: the partition's fetch failed this round. */
  errorCode: number
}

export const KafkaErrors = { OFFSET_OUT_OF_RANGE: 1 } as const

const CONTROL_BATCH = 0x20
const LOG_APPEND_TIME = 0x08

export interface FetcherOptions {
  maxWaitMs?: number
  maxBytes?: number
  partitionMaxBytes?: number
}

export class Fetcher {
  readonly #consumer: Consumer
  readonly #options: Required<FetcherOptions>
  #metadata: ClusterMetadata | undefined

  constructor(consumer: Consumer, options: FetcherOptions = {}) {
    this.#consumer = consumer
    this.#options = { maxWaitMs: 200, maxBytes: 16 << 20, partitionMaxBytes: 2 << 20, ...options }
  }

  /** Forgets cached metadata, e.g. after a leader change. */
  invalidate(): void {
    this.#metadata = undefined
  }

  async metadata(topics: string[]): Promise<ClusterMetadata> {
    const cached = this.#metadata
    if (cached && topics.every((t) => cached.topics.has(t))) return cached
    this.#metadata = await this.#consumer.metadata({ topics, forceUpdate: true })
    return this.#metadata
  }

  async fetch(targets: FetchTarget[]): Promise<FetchedPartition[]> {
    if (targets.length === 0) return []
    const metadata = await this.metadata([...new Set(targets.map((t) => t.topic))])
    const names = new Map<string, string>()
    const byNode = new Map<number, Map<string, FetchRequestTopic>>()
    for (const { topic, partition, offset, maxBytes } of targets) {
      const info = metadata.topics.get(topic)
      const leader = info?.partitions[partition]?.leader
      if (!info || leader === undefined || leader < 0) {
        this.invalidate()
        continue
      }
      names.set(info.id, topic)
      const requests = byNode.get(leader) ?? new Map<string, FetchRequestTopic>()
      byNode.set(leader, requests)
      const request = requests.get(topic) ?? { topicId: info.id, partitions: [] }
      requests.set(topic, request)
      request.partitions.push({
        partition,
        fetchOffset: offset,
        partitionMaxBytes: Math.min(
          maxBytes ?? this.#options.partitionMaxBytes,
          this.#options.partitionMaxBytes,
        ),
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })
    }
    const responses = await Promise.all(
      [...byNode].map(([node, requests]) =>
        this.#consumer.fetch({
          node,
          topics: [...requests.values()],
          maxWaitTime: this.#options.maxWaitMs,
          minBytes: 1,
          maxBytes: this.#options.maxBytes,
        }),
      ),
    )
    const wanted = new Map(targets.map((t) => [`${t.topic}:${t.partition}`, t.offset]))
    const fetched: FetchedPartition[] = []
    for (const response of responses) {
      for (const topicResponse of response.responses) {
        const topic = names.get(topicResponse.topicId)
        if (!topic) continue
        for (const p of topicResponse.partitions) {
          if (p.errorCode !== 0) this.invalidate()
          const from = wanted.get(`${topic}:${p.partitionIndex}`) ?? 0n
          fetched.push({
            topic,
            partition: p.partitionIndex,
            records: toRawRecords(topic, p.partitionIndex, p.records ?? [], from),
            highWatermark: p.highWatermark,
            logStartOffset: p.logStartOffset,
            errorCode: p.errorCode,
          })
        }
      }
    }
    return fetched
  }
}

function toRawRecords(topic: string, partition: number, batches: RecordsBatch[], from: bigint): RawRecord[] {
  const records: RawRecord[] = []
  for (const batch of batches) {
    // Transaction markers are not data.
    if (batch.attributes & CONTROL_BATCH) continue
    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta)
      // A fetch returns whole batches, which may start before the offset asked for.
      if (offset < from) continue
      const headers: Record<string, string> = {}
      for (const [k, v] of record.headers) if (k) headers[k.toString()] = v?.toString() ?? ''
      records.push({
        topic,
        partition,
        offset,
        key: record.key,
        value: record.value,
        timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
        headers: headers as RecordHeaders,
      })
    }
  }
  return records
}
