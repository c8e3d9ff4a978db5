/**
 * Fetches chosen partitions from chosen offsets with the client's low-level Fetch API. The runtime
 * decides every offset (from PostgreSQL), can leave a full partition out of a round (per-partition
 * back-pressure) and restart one anywhere — which a subscription stream cannot do.
 */

import {
  type ClusterMetadata,
  type Consumer,
  FetchIsolationLevels,
  type FetchOptions,
  findErrorBy,
  ResponseError,
} from '@platformatic/kafka'
import { StreamsError } from '../errors.ts'
import type { RawRecord } from '../record.ts'
import { partitionRecords } from './fetched-batches.ts'

type FetchRequestTopic = FetchOptions<Buffer, Buffer, Buffer, Buffer>['topics'][number]
type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>

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
  /** Where the next fetch of the partition starts: past the records and any transaction markers. */
  nextOffset: bigint
  /** The wire size of the record batches fetched (0 when none): how `records` compare with what was asked. */
  fetchedBytes: number
  /** The end of the readable log: the last stable offset (READ_COMMITTED), for lag. */
  highWatermark: bigint
  logStartOffset: bigint
  /** A Kafka error code other than 0: the partition's fetch failed this round. */
  errorCode: number
  /** Why a partition failed without a Kafka error code of its own (its broker did not answer). */
  cause?: unknown
}

export const KafkaErrors = {
  /** The partition's broker did not answer, or has no leader for it (not a Kafka error code). */
  UNREACHABLE: -1,
  OFFSET_OUT_OF_RANGE: 1,
} as const

export interface FetcherOptions {
  maxWaitMs?: number
  maxBytes?: number
  partitionMaxBytes?: number
}

/**
 * The consumer given here should be one made with `retries: 0`: the client retries a whole Fetch for
 * one partition's retriable error (NOT_LEADER_OR_FOLLOWER, ...), stalling every other partition of the
 * broker, while the runtime backs off that partition alone.
 */
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

  /**
   * Fetches every target, one request per leader. A partition's error comes back as that partition's
   * `errorCode` (a broker that does not answer fails its own partitions only); only a metadata failure
   * throws.
   */
  async fetch(targets: FetchTarget[]): Promise<FetchedPartition[]> {
    if (targets.length === 0) return []
    const metadata = await this.metadata([...new Set(targets.map((t) => t.topic))])
    const names = new Map<string, string>()
    const byNode = new Map<number, Map<string, FetchRequestTopic>>()
    const fetched: FetchedPartition[] = []
    const failed = (t: FetchTarget, cause: unknown): FetchedPartition => ({
      topic: t.topic,
      partition: t.partition,
      records: [],
      nextOffset: t.offset,
      fetchedBytes: 0,
      highWatermark: -1n,
      logStartOffset: -1n,
      errorCode: KafkaErrors.UNREACHABLE,
      cause,
    })
    const nodeTargets = new Map<number, FetchTarget[]>()
    for (const target of targets) {
      const { topic, partition, offset, maxBytes } = target
      const info = metadata.topics.get(topic)
      const leader = info?.partitions[partition]?.leader
      if (!info || leader === undefined || leader < 0) {
        this.invalidate()
        fetched.push(
          failed(
            target,
            new StreamsError('PARTITION_UNAVAILABLE', `no leader known for ${topic}[${partition}]`),
          ),
        )
        continue
      }
      names.set(info.id, topic)
      nodeTargets.set(leader, [...(nodeTargets.get(leader) ?? []), target])
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
    const responses = await Promise.allSettled(
      [...byNode].map(([node, requests]) => this.#fetchNode(node, [...requests.values()])),
    )
    const wanted = new Map(targets.map((t) => [`${t.topic}:${t.partition}`, t.offset]))
    for (const [i, node] of [...byNode.keys()].entries()) {
      const settled = responses[i]!
      if (settled.status === 'rejected') {
        this.invalidate()
        for (const target of nodeTargets.get(node) ?? []) fetched.push(failed(target, settled.reason))
        continue
      }
      for (const topicResponse of settled.value.responses) {
        const topic = names.get(topicResponse.topicId)
        if (!topic) continue
        for (const p of topicResponse.partitions) {
          if (p.errorCode !== 0) this.invalidate()
          const from = wanted.get(`${topic}:${p.partitionIndex}`) ?? 0n
          const { records, nextOffset, fetchedBytes } = partitionRecords(
            topic,
            p.partitionIndex,
            p.errorCode === 0 ? (p.records ?? []) : [],
            from,
            p.abortedTransactions ?? [],
          )
          fetched.push({
            topic,
            partition: p.partitionIndex,
            records,
            nextOffset,
            fetchedBytes,
            highWatermark: p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark,
            logStartOffset: p.logStartOffset,
            errorCode: p.errorCode,
          })
        }
      }
    }
    return fetched
  }

  /**
   * One broker's request. After a partition error the client keeps its old fetch session epoch while the
   * broker moved on, so the next request answers a session error once; it is retried at once (the
   * client dropped the session) instead of failing every partition of the broker for a round.
   */
  async #fetchNode(node: number, topics: FetchRequestTopic[]): Promise<FetchResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#consumer
          .fetch({
            node,
            topics,
            maxWaitTime: this.#options.maxWaitMs,
            minBytes: 1,
            maxBytes: this.#options.maxBytes,
            isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          })
          .catch(partitionErrors)
      } catch (error) {
        const session =
          error instanceof Error && SESSION_ERRORS.some((id) => findErrorBy(error, 'apiId', id) !== null)
        if (!session || attempt > 0) throw error
      }
    }
  }
}

/** Fetch session errors: the client dropped its session, so an immediate retry is a full fetch. */
const SESSION_ERRORS = ['FETCH_SESSION_ID_NOT_FOUND', 'INVALID_FETCH_SESSION_EPOCH'] as const

/**
 * The client's Fetch decoder throws for the whole response when one partition carries an error code;
 * the decoded response rides on the error. Its partitions are answered one by one (a response-level
 * error, such as a fetch session error, is still thrown).
 */
function partitionErrors(error: unknown): FetchResponse {
  if (error instanceof ResponseError) {
    const response = (error as ResponseError & { response?: FetchResponse }).response
    if (response && response.errorCode === 0 && Array.isArray(response.responses)) return response
  }
  throw error
}
