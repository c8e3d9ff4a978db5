/**
 * The runtime's fetch loop: every round asks each running task for its fetch positions, fetches them
 * (one request per leader) and hands each partition its records. Errors stay with their partition: an
 * offset deleted from the log moves that partition to the log start (counted as skipped), any other
 * error backs that partition off alone while the others keep flowing.
 */
import type { Consumer } from '@platformatic/kafka'
import { protocolErrorsCodesById } from '@platformatic/kafka'
import { describeError, StreamsError } from '../errors.ts'
import { backoffDelay, sleep } from '../retry.ts'
import { type FetchedPartition, type Fetcher, type FetchTarget, KafkaErrors } from './fetcher.ts'
import type { RuntimeMetrics } from './metrics.ts'
import type { RuntimeLogger } from './streams-runtime.ts'
import type { TaskRunner } from './task-runner.ts'

export interface FetchLoopOptions {
  fetcher: Pick<Fetcher, 'fetch' | 'invalidate'>
  /** For ListOffsets: where a partition's log starts now. */
  consumer: Pick<Consumer, 'listOffsets'>
  runners: () => Iterable<TaskRunner>
  metrics: RuntimeMetrics
  log: RuntimeLogger
  signal: AbortSignal
  clock?: () => number
  /**
   * Asked before every fetch round: a promise while fetching should wait (the outbox relay is behind the
   * commits), settled when it is worth asking again; undefined to fetch now. Without it, tasks that
   * commit faster than the relay publishes grow the outbox without bound, and the relay's rounds grow
   * the heap (docs/architecture.md, section 6, "Backpressure").
   */
  holdFetch?: HoldFetch | undefined
}

export type HoldFetch = () => Promise<void> | undefined

/** A fetch round waits for publication at most this long: a relay that cannot publish stalls nothing. */
export const MAX_FETCH_HOLD_MS = 1_000

/** Consecutive failures after which a partition's error counts against readiness. */
const PROBLEM_AFTER = 3

interface Failing {
  attempts: number
  until: number
  error: string
}

export class FetchLoop {
  readonly #o: FetchLoopOptions
  readonly #failing = new Map<string, Failing>()
  /** The last round's failure of the whole fetch (metadata), if any. */
  #error: string | undefined

  constructor(options: FetchLoopOptions) {
    this.#o = options
  }

  /** Why fetching is not healthy: the fetch as a whole, or a partition failing again and again. */
  problem(): string | undefined {
    if (this.#error) return this.#error
    for (const [key, f] of this.#failing) if (f.attempts >= PROBLEM_AFTER) return `fetch ${key}: ${f.error}`
    return undefined
  }

  async run(): Promise<void> {
    const { signal, fetcher, log } = this.#o
    let failures = 0
    while (!signal.aborted) {
      await this.#hold()
      const now = this.#now()
      const byPartition = new Map<string, { runner: TaskRunner; target: FetchTarget }>()
      const targets: FetchTarget[] = []
      for (const runner of this.#o.runners()) {
        if (!runner.wantsFetch()) continue
        for (const target of runner.fetchTargets()) {
          const key = partitionKey(target)
          if ((this.#failing.get(key)?.until ?? 0) > now) continue
          byPartition.set(key, { runner, target })
          targets.push(target)
        }
      }
      if (targets.length === 0) {
        await sleep(20, signal).catch(() => {})
        continue
      }
      try {
        const fetched = await fetcher.fetch(targets)
        failures = 0
        this.#error = undefined
        const outOfRange: FetchedPartition[] = []
        for (const f of fetched) {
          const entry = byPartition.get(partitionKey(f))
          if (!entry) continue
          if (f.errorCode === 0) {
            this.#failing.delete(partitionKey(f))
            entry.runner.deliver(f)
          } else if (f.errorCode === KafkaErrors.OFFSET_OUT_OF_RANGE) outOfRange.push(f)
          else this.#failed(f, errorName(f.errorCode), f.cause)
        }
        if (outOfRange.length > 0) await this.#resetToLogStart(outOfRange, byPartition)
      } catch (error) {
        this.#error = `kafka: ${describeError(error)}`
        fetcher.invalidate()
        const delay = backoffDelay(failures++, { maxMs: 5_000 })
        log.warn({ error: this.#error, delay }, 'fetch failed, retrying')
        await sleep(delay, signal).catch(() => {})
      }
    }
  }

  /** Waits while publication is behind, at most MAX_FETCH_HOLD_MS, and counts the time. */
  async #hold(): Promise<void> {
    const { holdFetch, signal, metrics } = this.#o
    let hold = holdFetch?.()
    if (!hold) return
    const started = performance.now()
    const done = new AbortController()
    let expired = false
    const deadline = sleep(MAX_FETCH_HOLD_MS, AbortSignal.any([signal, done.signal])).then(
      () => {
        expired = true
      },
      () => {},
    )
    while (hold && !expired && !signal.aborted) {
      await Promise.race([hold, deadline])
      hold = holdFetch?.()
    }
    done.abort()
    metrics.fetchHeld.inc((performance.now() - started) / 1000)
  }

  /**
   * The broker answers OFFSET_OUT_OF_RANGE with logStartOffset -1, so ListOffsets says where each log
   * starts now. A position below it was deleted (retention, deleteRecords): move to the start and count
   * the offsets skipped. A position beyond the log's end (a truncated log, a re-created topic) is not
   * moved backwards — records there would be taken as already processed — but reported and retried.
   */
  async #resetToLogStart(
    partitions: FetchedPartition[],
    byPartition: ReadonlyMap<string, { runner: TaskRunner; target: FetchTarget }>,
  ): Promise<void> {
    const { consumer, metrics, log } = this.#o
    const topics = [...new Set(partitions.map((p) => p.topic))]
    let earliest: Map<string, bigint[]>
    try {
      earliest = await consumer.listOffsets({ topics, timestamp: -2n })
    } catch (error) {
      for (const f of partitions) this.#failed(f, 'OFFSET_OUT_OF_RANGE', error)
      return
    }
    for (const f of partitions) {
      const { runner, target } = byPartition.get(partitionKey(f))!
      const start = earliest.get(f.topic)?.[f.partition]
      const position = runner.fetchPosition(f.topic) ?? target.offset
      if (start === undefined || start <= position) {
        this.#failed(
          f,
          'OFFSET_OUT_OF_RANGE',
          new StreamsError('PARTITION_UNAVAILABLE', `offset ${position} is beyond the end of the log`),
        )
        continue
      }
      const skipped = runner.resetFetch(f.topic, start)
      this.#failing.delete(partitionKey(f))
      metrics.skipped.inc({ topic: f.topic, partition: f.partition }, Number(skipped))
      log.warn(
        {
          topic: f.topic,
          partition: f.partition,
          from: String(position),
          to: String(start),
          skipped: String(skipped),
        },
        'offsets deleted from the log before they were processed; continuing from the log start',
      )
    }
  }

  #failed(f: FetchedPartition, code: string, cause: unknown): void {
    const key = partitionKey(f)
    const attempts = (this.#failing.get(key)?.attempts ?? 0) + 1
    const delay = backoffDelay(attempts - 1, { maxMs: 5_000 })
    const error = cause === undefined ? code : `${code}: ${describeError(cause)}`
    this.#failing.set(key, { attempts, until: this.#now() + delay, error })
    this.#o.metrics.fetchErrors.inc({ topic: f.topic, partition: f.partition, code })
    this.#o.log.warn(
      { topic: f.topic, partition: f.partition, attempts, delay, error },
      'partition fetch failed, backing off',
    )
  }

  #now(): number {
    return (this.#o.clock ?? Date.now)()
  }
}

const partitionKey = (p: { topic: string; partition: number }) => `${p.topic}[${p.partition}]`

function errorName(code: number): string {
  if (code === KafkaErrors.UNREACHABLE) return 'UNREACHABLE'
  return protocolErrorsCodesById[code] ?? `KAFKA_ERROR_${code}`
}
