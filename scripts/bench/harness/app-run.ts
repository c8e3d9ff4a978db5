/**
 * Ours, measured: a topology on the StreamsApp facade (runtime, PostgreSQL backend, outbox relay),
 * timed from `start()` (group join included) until the committed offsets in PostgreSQL cover every
 * input record, then until the output topic holds every output — with RSS, CPU, event-loop use, the
 * task queues, and where a batch's time goes (its lookups, its commit transaction). Runs in a child
 * phase (phase.ts): `measureApp` is the whole body of one.
 */
import { type Kysely, sql } from 'kysely'
import { createDb } from '../../../state/db.ts'
import { quietLog } from '../../../test/support/runtime-fixtures.ts'
import type { Topology } from '../../../topology/builder.ts'
import { type RelayPlacement, StreamsApp } from '../../../topology/streams-app.ts'
import { KafkaScratch, type PhaseBase } from './infra.ts'
import { type PhaseMeasures, PhaseMeter, type Rate, waitProgress } from './measure.ts'
import { TimedBackend } from './timed-backend.ts'

export interface RuntimeSettings {
  maxBatch: number
  lingerMs: number
  maxQueueBytes: number
  /** The OutboxRelay's rows per publish round (its batchSize). */
  relayBatch: number
  /** Where the relay runs (StreamsApp's `relay`): a worker thread of its own, or the tasks' thread. */
  relay: RelayPlacement
}

/** What a child needs to run ours (JSON: it crosses the process boundary as an argument). */
export interface AppPhaseConfig extends PhaseBase {
  applicationId: string
  /** Progress is the committed offsets of `input` reaching `total`; done is `output` holding `outputs`. */
  input: string
  output: string
  total: number
  /** The records `output` holds when every input is done (default `total`: one output per input). */
  outputs?: number
  settings: RuntimeSettings
}

export interface AppRun extends PhaseMeasures {
  committed: Rate
  published: Rate
  firstCommitSeconds: number
  batches: number
  meanBatch: number
  /** Mean per batch: in the task (lookups + processing + commit), its lookups, its commit transaction. */
  taskMs: number
  lookupMs: number
  pgMs: number
  /** Most records held in the task queues at once (fetched, not yet committed), sampled every 250 ms. */
  maxQueued: number
}

/** Sums of a histogram's (or counter's) series over every label set: `_sum`, `_count`, or all. */
async function sums(metric: { get(): Promise<{ values: unknown[] }> }, suffix = '') {
  const values = (await metric.get()).values as Array<{ metricName?: string; value: number }>
  return values.filter((v) => (v.metricName ?? '').endsWith(suffix)).reduce((s, v) => s + v.value, 0)
}

/** One StreamsApp on a TimedBackend, with what the benchmark reads of it. */
export class MeasuredApp {
  readonly app: StreamsApp
  readonly backend: TimedBackend
  readonly config: AppPhaseConfig
  readonly #db: Kysely<unknown>

  // biome-ignore lint/suspicious/noExplicitAny: the application's own database type
  constructor(topology: Topology, config: AppPhaseConfig, db: Kysely<any>) {
    this.config = config
    this.#db = db
    this.backend = new TimedBackend(db, topology.persistence())
    const { maxBatch, lingerMs, maxQueueBytes, relayBatch, relay } = config.settings
    this.app = new StreamsApp(topology, {
      brokers: config.brokers,
      db,
      databaseUrl: config.databaseUrl,
      relay,
      backend: this.backend,
      metricsPrefix: 'commerce_',
      log: quietLog,
      maxBatch,
      lingerMs,
      maxQueueBytes,
      relayBatchRows: relayBatch,
    })
  }

  /** The committed next offset of each partition of the input. */
  async committedOffsets(): Promise<Map<number, number>> {
    const { rows } = await sql<{ partition: number; next_offset: string }>`
      select partition, next_offset from stream_offsets
      where application_id = ${this.config.applicationId} and topic = ${this.config.input}`.execute(this.#db)
    return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]))
  }

  async committed(): Promise<number> {
    return [...(await this.committedOffsets()).values()].reduce((s, o) => s + o, 0)
  }

  /** Records fetched but not yet committed: the runtime's consumed counter minus processed and DLQ. */
  async queued(): Promise<number> {
    const { consumed, processed, dlq } = this.app.metrics
    return (await sums(consumed)) - (await sums(processed)) - (await sums(dlq))
  }

  /** Starts the app on the backlog already in the input and measures it until it is done. */
  async run(scratch: KafkaScratch): Promise<AppRun> {
    const { total, output, applicationId, database, outputs: expected = total } = this.config
    const meter = new PhaseMeter(await scratch.endOffsets(this.config.input), database)
    let maxQueued = 0
    const queueSampler = setInterval(() => {
      void this.queued().then((q) => (maxQueued = Math.max(maxQueued, q)))
    }, 250)
    try {
      await this.app.start()
      meter.started()
      let firstCommitSeconds = Number.NaN
      const committed = async () => {
        const offsets = await this.committedOffsets()
        const sum = [...offsets.values()].reduce((s, o) => s + o, 0)
        if (sum > 0 && Number.isNaN(firstCommitSeconds)) firstCommitSeconds = meter.seconds()
        meter.reached(sum, offsets)
        return sum
      }
      const waits = { everyMs: 50 }
      await waitProgress(
        `${applicationId}: committed offsets to cover ${total} records`,
        committed,
        total,
        waits,
      )
      const committedSeconds = meter.seconds()
      const outputs = () => scratch.total(output)
      await waitProgress(`${applicationId}: ${output} to hold ${expected} outputs`, outputs, expected, waits)
      const published = { records: total, seconds: meter.seconds() }
      const measures = meter.stop(total)
      // The relay deletes a batch's rows in the transaction that sent it, which commits just after the send.
      const backlog = async () => -(await this.app.relay.backlog())
      await waitProgress(`${applicationId}: the outbox to be empty`, backlog, 0, { stallMs: 30_000 })
      const held = await outputs()
      if (held !== expected)
        throw new Error(`${applicationId}: ${output} holds ${held} outputs, expected ${expected}`)
      const { batchSize, commitDuration } = this.app.metrics
      const batches = await sums(batchSize, '_count')
      const { commits, commitMs, lookupMs } = this.backend
      return {
        ...measures,
        committed: { records: total, seconds: committedSeconds },
        published,
        firstCommitSeconds,
        batches,
        meanBatch: batches ? (await sums(batchSize, '_sum')) / batches : 0,
        taskMs: batches ? ((await sums(commitDuration, '_sum')) * 1000) / batches : 0,
        lookupMs: commits ? lookupMs / commits : 0,
        pgMs: commits ? commitMs / commits : 0,
        maxQueued,
      }
    } finally {
      clearInterval(queueSampler)
      meter.close()
    }
  }

  async stop(): Promise<void> {
    await this.app.stop().catch((e) => quietLog.error({ error: String(e) }, 'stop failed'))
  }
}

/**
 * The body of a child phase that measures ours: the app over the backlog, then `more` (e.g. a live
 * phase) while it still runs; everything it opened is closed whatever happens.
 */
export async function measureApp<X extends object = Record<never, never>>(
  config: AppPhaseConfig,
  topology: Topology,
  more: (measured: MeasuredApp, scratch: KafkaScratch, run: AppRun) => Promise<X> = async () => ({}) as X,
): Promise<AppRun & X> {
  const db = createDb({ url: config.databaseUrl })
  const scratch = new KafkaScratch(config.brokers)
  const measured = new MeasuredApp(topology, config, db)
  try {
    const run = await measured.run(scratch)
    return { ...run, ...(await more(measured, scratch, run)) }
  } finally {
    await measured.stop()
    await scratch.cleanup()
    await db.destroy()
  }
}
