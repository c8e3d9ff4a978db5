/**
 * The runtime under test: StreamsRuntime + PostgresStateBackend + OutboxRelay on the counting topology,
 * and what is measured around it. Each runtime phase runs in a child process of its own
 * (runtime-child.ts), so its RSS and CPU are the runtime's alone, not the leftovers of producing and of
 * the raw consume runs; `runPhase` is the parent's side of that.
 */
import { performance } from 'node:perf_hooks'
import type { Kysely } from 'kysely'
import type { Registry } from 'prom-client'
import type { Database } from '../../state/schema.ts'
import { countingTopology } from '../../test/support/counting-topology.ts'
import { committedTotal, quietLog } from '../../test/support/runtime-fixtures.ts'
import type { OutboxRelay } from '../../topology/postgres/outbox-relay.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import { Fetcher } from '../../topology/runtime/fetcher.ts'
import type { RuntimeMetrics } from '../../topology/runtime/metrics.ts'
import type { StreamsRuntime } from '../../topology/runtime/streams-runtime.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import { type ForkPhaseOptions, forkPhase } from './fork-phase.ts'
import type { KafkaScratch } from './infra.ts'
import {
  type CpuUse,
  cpuMeter,
  quantile,
  type RssSummary,
  rawConsumer,
  readRange,
  waitProgress,
} from './measure.ts'
import { TimedBackend } from './timed-backend.ts'

export interface RuntimeSettings {
  maxBatch: number
  lingerMs: number
  maxQueueBytes: number
  /** The OutboxRelay's rows per publish round (its batchSize). */
  relayBatch: number
}

export interface PhaseConfig {
  /** runtime: the runtime over `total` records already in `input`; storage: the commit path alone. */
  mode: 'runtime' | 'storage'
  brokers: string[]
  databaseUrl: string
  database: string
  applicationId: string
  input: string
  output: string
  total: number
  partitions: number
  settings: RuntimeSettings
  /** After the backlog: tell the parent, which produces live records, then measure their latency. */
  live: boolean
}

export interface Rate {
  records: number
  seconds: number
}

export interface LatencyQuantiles {
  p50: number
  p99: number
  count: number
}

export interface RuntimeResult {
  committed: Rate
  published: Rate
  startSeconds: number
  firstCommitSeconds: number
  batches: number
  meanBatch: number
  /** Mean per batch: in the task (processing + commit), and in the PostgreSQL transaction alone. */
  taskMs: number
  pgMs: number
  eventLoop: number
  cpu: CpuUse
}

export interface PhaseResult {
  runtime?: RuntimeResult
  rss?: RssSummary
  /** Most records held in the tasks' queues at once (fetched, not yet committed), sampled every 250 ms. */
  maxQueued?: number
  queuedLatency?: LatencyQuantiles
  live?: { exact: LatencyQuantiles; histogram: LatencyQuantiles; publish: LatencyQuantiles }
  storage?: { records: number; seconds: number; commitP50Ms: number; commitP99Ms: number; cpu: CpuUse }
}

/** Child → parent: `caught-up` (live phase: produce now), `result`, `error`. Parent → child: `live-sent`. */
export type ChildMessage =
  | { type: 'caught-up' }
  | { type: 'result'; result: PhaseResult }
  | { type: 'error'; message: string }
export type ParentMessage = { type: 'live-sent'; total: number }

/** One StreamsRuntime + OutboxRelay on the counting topology, with its own metrics registry. */
export class RuntimeHarness {
  readonly registry: Registry
  readonly metrics: RuntimeMetrics
  readonly config: PhaseConfig
  readonly backend: TimedBackend
  readonly relay: OutboxRelay
  readonly runtime: StreamsRuntime
  readonly #db: Kysely<Database>
  /** Exact end-to-end latencies (seconds) the runtime observed while `collecting` was on. */
  readonly latencies: number[] = []
  collecting = false
  #stopped = false

  constructor(config: PhaseConfig, db: Kysely<Database>) {
    this.config = config
    this.#db = db
    this.backend = new TimedBackend(new PostgresStateBackend(db))
    const { maxBatch, lingerMs, maxQueueBytes } = config.settings
    const app = new StreamsApp(
      countingTopology({ applicationId: config.applicationId, input: config.input, output: config.output }),
      {
        brokers: config.brokers,
        db,
        backend: this.backend,
        metricsPrefix: 'commerce_',
        log: quietLog,
        maxBatch,
        lingerMs,
        maxQueueBytes,
        relayBatchRows: config.settings.relayBatch,
      },
    )
    this.registry = app.registry
    this.metrics = app.metrics
    this.relay = app.relay
    this.runtime = app.runtime!
    // The runtime observes each committed record's latency into this histogram: keep the exact value too.
    const histogram = this.metrics.endToEnd
    const observe = histogram.observe.bind(histogram) as (labels: { topic: string }, value: number) => void
    histogram.observe = ((labels: { topic: string }, value: number) => {
      if (this.collecting) this.latencies.push(value)
      observe(labels, value)
    }) as typeof histogram.observe
  }

  committed(): Promise<number> {
    return committedTotal(this.#db, this.config.applicationId, this.config.input)
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await this.runtime.stop().catch((e) => quietLog.error({ error: String(e) }, 'runtime stop failed'))
    await this.relay.stop().catch((e) => quietLog.error({ error: String(e) }, 'relay stop failed'))
  }

  /**
   * Starts the runtime and waits until the committed offsets cover `total` records, then until the
   * output topic holds `total` outputs (the relay published them all).
   */
  async runUntilDone(
    scratch: KafkaScratch,
    onProgress?: (committed: number) => void,
  ): Promise<RuntimeResult> {
    const { total, output, applicationId, database } = this.config
    const cpu = cpuMeter(database)
    const elu = performance.eventLoopUtilization()
    const started = performance.now()
    this.relay.start()
    await this.runtime.start()
    const startSeconds = (performance.now() - started) / 1000
    let firstCommitSeconds = Number.NaN
    const committedSeconds =
      startSeconds +
      (await waitProgress(
        `${applicationId}: committed offsets to cover ${total} records`,
        () => this.committed(),
        total,
        {
          onValue: (v) => {
            if (v > 0 && Number.isNaN(firstCommitSeconds))
              firstCommitSeconds = (performance.now() - started) / 1000
            onProgress?.(v)
          },
        },
      ))
    const publishedSeconds =
      committedSeconds +
      (await waitProgress(
        `${applicationId}: ${output} to hold ${total} outputs`,
        () => scratch.total(output),
        total,
      ))
    const eventLoop = performance.eventLoopUtilization(elu).utilization
    const cpuUse = cpu.stop()
    // The relay deletes a batch's rows in the transaction that sent it, which commits just after the send.
    await waitProgress(
      `${applicationId}: the outbox to be empty`,
      async () => -(await this.relay.backlog()),
      0,
      {
        stallMs: 30_000,
      },
    )
    const outputs = await scratch.total(output)
    if (outputs !== total)
      throw new Error(`${applicationId}: ${output} holds ${outputs} outputs, expected ${total}`)
    return {
      committed: { records: total, seconds: committedSeconds },
      published: { records: total, seconds: publishedSeconds },
      startSeconds,
      firstCommitSeconds,
      eventLoop,
      cpu: cpuUse,
      ...(await this.batchStats()),
    }
  }

  /** Records fetched but not yet committed: the runtime's consumed counter minus processed and DLQ. */
  async queued(): Promise<number> {
    const sum = async (c: typeof this.metrics.consumed) =>
      (await c.get()).values.reduce((s, v) => s + v.value, 0)
    return (
      (await sum(this.metrics.consumed)) - (await sum(this.metrics.processed)) - (await sum(this.metrics.dlq))
    )
  }

  async batchStats(): Promise<{ batches: number; meanBatch: number; taskMs: number; pgMs: number }> {
    const sums = async (name: 'batchSize' | 'commitDuration') => {
      const values = (await this.metrics[name].get()).values as Array<{ metricName?: string; value: number }>
      const pick = (suffix: string) =>
        values.filter((v) => v.metricName?.endsWith(suffix)).reduce((s, v) => s + v.value, 0)
      return { sum: pick('_sum'), count: pick('_count') }
    }
    const size = await sums('batchSize')
    const duration = await sums('commitDuration')
    return {
      batches: size.count,
      meanBatch: size.count ? size.sum / size.count : 0,
      taskMs: duration.count ? (duration.sum * 1000) / duration.count : 0,
      pgMs: this.backend.commits ? this.backend.commitMs / this.backend.commits : 0,
    }
  }

  /** p50/p99 of the end-to-end histogram, interpolated within buckets as Prometheus' histogram_quantile. */
  async histogramQuantiles(): Promise<LatencyQuantiles> {
    const values = (await this.metrics.endToEnd.get()).values as Array<{
      metricName?: string
      labels: Record<string, string | number>
      value: number
    }>
    const buckets = new Map<number, number>()
    for (const v of values) {
      if (!v.metricName?.endsWith('_bucket')) continue
      const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le)
      buckets.set(le, (buckets.get(le) ?? 0) + v.value)
    }
    const sorted = [...buckets].sort((a, b) => a[0] - b[0])
    const count = sorted.at(-1)?.[1] ?? 0
    const at = (q: number) => {
      const rank = q * count
      let lower = 0
      let below = 0
      for (const [le, cumulative] of sorted) {
        if (cumulative >= rank) {
          if (!Number.isFinite(le)) return lower // beyond the last bucket: its lower bound, as Prometheus does
          return lower + ((le - lower) * (rank - below)) / Math.max(1, cumulative - below)
        }
        lower = le
        below = cumulative
      }
      return lower
    }
    return { p50: at(0.5), p99: at(0.99), count }
  }
}

export function exactQuantiles(samples: number[]): LatencyQuantiles {
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), count: samples.length }
}

/** For each output from `outputFrom` on: its timestamp (the relay's send) minus its input record's. */
export async function publicationLatencies(
  config: PhaseConfig,
  scratch: KafkaScratch,
  inputFrom: bigint[],
  outputFrom: bigint[],
): Promise<number[]> {
  const consumer = rawConsumer(config.brokers, `${config.applicationId}-latency`, config.input)
  consumer.topics.trackAll(config.output)
  const fetcher = new Fetcher(consumer)
  try {
    const produced = new Map<string, number>()
    const inputTo = await scratch.endOffsets(config.input)
    await readRange(
      fetcher,
      config.input,
      inputFrom,
      inputTo,
      (records) => {
        for (const r of records) produced.set(`${r.partition}/${r.offset}`, r.timestamp)
      },
      60_000,
    )
    const latencies: number[] = []
    const outputTo = await scratch.endOffsets(config.output)
    await readRange(
      fetcher,
      config.output,
      outputFrom,
      outputTo,
      (records) => {
        for (const r of records) {
          // streams.output-id = <application>/<topic>/<partition>/<offset>/<n>
          const id = r.headers['streams.output-id']?.split('/') ?? []
          const source = produced.get(`${id.at(-3)}/${id.at(-2)}`)
          if (source !== undefined) latencies.push((r.timestamp - source) / 1000)
        }
      },
      60_000,
    )
    return latencies
  } finally {
    await consumer.close().catch(() => {})
  }
}

/**
 * Runs one phase in a child process (runtime-child.ts) and returns its result. `onCaughtUp` (live
 * phase) produces the live records and returns the total the child then waits for. The child is
 * killed (by its pid) on timeout or when `signal` aborts.
 */
export function runPhase(
  config: PhaseConfig,
  { onCaughtUp, ...options }: ForkPhaseOptions & { onCaughtUp?: () => Promise<number> },
): Promise<PhaseResult> {
  return forkPhase(
    new URL('./runtime-child.ts', import.meta.url),
    config,
    `${config.mode} phase (${config.applicationId})`,
    {
      ...options,
      result: (message: ChildMessage) => (message as Extract<ChildMessage, { type: 'result' }>).result,
      onOther: (message, child, fail) => {
        if (message.type !== 'caught-up' || !onCaughtUp) return
        onCaughtUp().then((total) => child.send({ type: 'live-sent', total } satisfies ParentMessage), fail)
      },
    },
  )
}
