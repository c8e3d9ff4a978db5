/**
 * The library's one front door, as Kafka Streams' `new KafkaStreams(topology, config)`: it assembles
 * the runtime (consumer group, fetch loop, tasks), the PostgreSQL state backend, the outbox relay and
 * their metrics from one options object, validated once — every problem listed in one error — and
 * frozen.
 *
 * @example
 * const app = new StreamsApp(topology, { brokers: ['127.0.0.1:9092'], db, lookups, tables })
 * await app.start()   // the relay publishes; the runtime joins the group and processes
 * // ...
 * await app.stop()    // finishes in-flight batches, publishes what committed, leaves the group
 */
import type { Kysely } from 'kysely'
import { Registry } from 'prom-client'
import type { Topology } from './builder.ts'
import { StreamsError } from './errors.ts'
import { OutboxRelay } from './postgres/outbox-relay.ts'
import type { Relay } from './postgres/relay.ts'
import { type LookupReader, PostgresStateBackend, type TableWriter } from './postgres/state-backend.ts'
import { ThreadRelay } from './postgres/thread-relay.ts'
import type { StateBackend } from './runtime/backend.ts'
import { createRuntimeMetrics, DEFAULT_METRICS_PREFIX, type RuntimeMetrics } from './runtime/metrics.ts'
import { type RuntimeLogger, type RuntimeStatus, StreamsRuntime } from './runtime/streams-runtime.ts'

export interface StreamsAppOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[]
  /** The application's database, with the library's tables migrated (`topology/postgres/migrations.ts`). */
  // biome-ignore lint/suspicious/noExplicitAny: the application's own database type
  db: Kysely<any>
  /**
   * The connection string of the database `db` connects to: the relay's worker thread opens a pool of
   * its own with it (a Kysely instance cannot cross threads).
   */
  databaseUrl?: string
  /**
   * Where the outbox relay runs: `'inline'` (the default) — on this thread, through `db`; `'thread'` —
   * a worker thread of its own, with its own pool, producer and V8 isolate (needs `databaseUrl`), for
   * machines with cores the tasks, PostgreSQL and Kafka leave idle. On 2 cores inline was about as fast or
   * faster and ~55 MB smaller (docs/benchmarks.md, "Plans, the relay's place and the compile cache").
   */
  relay?: RelayPlacement
  /**
   * Readers of lookups and writers of tables, by name, beyond those the topology's processors brought
   * with them (`process(..., { readers, writers })`); these win over the topology's.
   */
  lookups?: Readonly<Record<string, LookupReader>>
  tables?: Readonly<Record<string, TableWriter>>
  /** Run the topology's processors here (default), or only the relay (an API-only instance). */
  processors?: boolean
  /** Where the metrics go (default a registry of its own) and their name prefix (default `streams_`). */
  registry?: Registry
  metricsPrefix?: string
  log?: RuntimeLogger
  instanceId?: string
  /** Records per batch at most (default 500), and how long a batch waits to fill (default 5 ms). */
  maxBatch?: number
  lingerMs?: number
  /**
   * Memory of fetched, uncommitted records a task may hold (default 2 MiB): their bytes plus
   * HELD_RECORD_OVERHEAD (512) each, the objects a held record costs.
   */
  maxQueueBytes?: number
  /** How long the group waits for a silent instance (default 10 s), and the heartbeat (default a quarter). */
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** The brokers' `message.max.bytes`: no relay round is larger (default Kafka's 1048588). */
  maxMessageBytes?: number
  /** How long publishing may fail before `problem()` reports the relay (default 30 s). */
  relayFailingAfterMs?: number
  /** Outbox rows per relay round at most (default 5000; rounds are also bounded by maxMessageBytes). */
  relayBatchRows?: number
  /** For tests and measurements: a state backend in place of PostgreSQL's (e.g. one that loses replies). */
  backend?: StateBackend
  clock?: () => number
}

export const RelayPlacements = ['thread', 'inline'] as const
export type RelayPlacement = (typeof RelayPlacements)[number]

/** Where the relay runs, the options' default applied. */
export function relayPlacement(o: Pick<StreamsAppOptions, 'relay'>): RelayPlacement {
  return o.relay ?? 'inline'
}

const silent: RuntimeLogger = { info() {}, warn() {}, error() {} }

/** Every problem with the options, each naming the option; empty when they are good. */
export function optionProblems(topology: Topology, o: StreamsAppOptions): string[] {
  const problems: string[] = []
  if (!Array.isArray(o.brokers) || o.brokers.length === 0) problems.push('brokers: at least one host:port')
  else
    for (const b of o.brokers)
      if (typeof b !== 'string' || !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))
        problems.push(`brokers: "${b}" is not host:port`)
  if (!o.db) problems.push('db: a Kysely instance is required')
  const positive = {
    maxBatch: o.maxBatch,
    maxQueueBytes: o.maxQueueBytes,
    sessionTimeoutMs: o.sessionTimeoutMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    maxMessageBytes: o.maxMessageBytes,
    relayFailingAfterMs: o.relayFailingAfterMs,
    relayBatchRows: o.relayBatchRows,
  }
  for (const [name, value] of Object.entries(positive)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
      problems.push(`${name}: must be a positive integer, got ${String(value)}`)
  }
  // A linger of 0 is a choice: batch whatever has arrived.
  if (o.lingerMs !== undefined && (!Number.isSafeInteger(o.lingerMs) || o.lingerMs < 0))
    problems.push(`lingerMs: must be a non-negative integer, got ${String(o.lingerMs)}`)
  if (o.relay !== undefined && !RelayPlacements.includes(o.relay))
    problems.push(`relay: must be one of ${RelayPlacements.join(', ')}, got ${String(o.relay)}`)
  if (o.databaseUrl !== undefined && !isPostgresUrl(o.databaseUrl))
    problems.push('databaseUrl: must be a postgres:// or postgresql:// connection string')
  else if (o.relay === 'thread' && o.databaseUrl === undefined)
    problems.push("databaseUrl: required with relay 'thread' (its worker thread connects on its own)")
  if (o.metricsPrefix !== undefined && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(o.metricsPrefix))
    problems.push(`metricsPrefix: "${o.metricsPrefix}" is not a Prometheus name prefix`)
  // The PostgreSQL backend needs a reader per lookup and a writer per table the topology declares.
  const needsReaders = !o.backend && o.processors !== false
  const { lookups, tables } = persistence(topology, o)
  for (const node of topology.nodes) {
    if (needsReaders && node.kind === 'lookup' && !lookups[node.name])
      problems.push(`lookups: no reader for "${node.name}"`)
    if (needsReaders && node.kind === 'table' && !tables[node.name])
      problems.push(`tables: no writer for "${node.name}"`)
  }
  return problems
}

function isPostgresUrl(url: unknown): boolean {
  if (typeof url !== 'string') return false
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(url).protocol)
  } catch {
    return false
  }
}

/** The topology's readers and writers, with the options' added (and winning). */
function persistence(topology: Topology, o: StreamsAppOptions) {
  const own = topology.persistence()
  return { lookups: { ...own.lookups, ...o.lookups }, tables: { ...own.tables, ...o.tables } }
}

export class StreamsApp {
  readonly topology: Topology
  readonly options: Readonly<StreamsAppOptions>
  readonly metrics: RuntimeMetrics
  readonly registry: Registry
  readonly relay: Relay
  /** Null on an instance that runs no processors. */
  readonly runtime: StreamsRuntime | null
  #gauges: NodeJS.Timeout | undefined

  constructor(topology: Topology, options: StreamsAppOptions) {
    const problems = optionProblems(topology, options)
    if (problems.length > 0)
      throw new StreamsError('OPTIONS_INVALID', `invalid StreamsApp options:\n  ${problems.join('\n  ')}`)
    this.topology = topology
    this.options = Object.freeze({ ...options, brokers: Object.freeze([...options.brokers]) })
    const o = this.options
    const log = o.log ?? silent
    this.registry = o.registry ?? new Registry()
    this.metrics = createRuntimeMetrics(this.registry, o.metricsPrefix ?? DEFAULT_METRICS_PREFIX)
    const relay = {
      db: o.db,
      brokers: o.brokers,
      clientId: `${topology.applicationId}-relay`,
      metrics: this.metrics,
      log,
      ...(o.maxMessageBytes ? { maxBatchBytes: o.maxMessageBytes } : {}),
      ...(o.relayFailingAfterMs ? { failingAfterMs: o.relayFailingAfterMs } : {}),
      ...(o.relayBatchRows ? { batchSize: o.relayBatchRows } : {}),
    }
    this.relay =
      relayPlacement(o) === 'thread' && o.databaseUrl !== undefined
        ? new ThreadRelay({ ...relay, databaseUrl: o.databaseUrl })
        : new OutboxRelay(relay)
    this.runtime =
      o.processors === false
        ? null
        : new StreamsRuntime({
            topology,
            brokers: o.brokers,
            backend: o.backend ?? new PostgresStateBackend(o.db, persistence(topology, o)),
            metrics: this.metrics,
            log,
            onCommitted: () => this.relay.nudge(),
            holdFetch: () => this.relay.whenBehind?.(),
            ...pick(o, ['instanceId', 'maxBatch', 'lingerMs', 'maxQueueBytes', 'sessionTimeoutMs']),
            ...pick(o, ['heartbeatIntervalMs', 'clock']),
          })
  }

  /** Starts publishing, then joins the group and processes (waiting for Kafka while it is down). */
  async start(): Promise<void> {
    this.relay.start()
    // The outbox gauges are counted in the database: every 5 s is plenty, and never on the hot path.
    this.#gauges ??= setInterval(() => void this.#countOutbox(), 5_000).unref()
    await this.runtime?.start()
  }

  /** Finishes in-flight batches, publishes what committed, leaves the group. */
  async stop(): Promise<void> {
    clearInterval(this.#gauges)
    await this.runtime?.stop()
    await this.relay.stop()
  }

  async #countOutbox(): Promise<void> {
    await this.relay.backlog().then(
      (n) => this.metrics.outboxBacklog.set(n),
      () => {},
    )
    await this.relay.rejectedRows().then(
      (n) => this.metrics.outboxRejectedRows.set(n),
      () => {},
    )
  }

  /** Why processing or publishing is not healthy, or undefined when both are. */
  problem(): string | undefined {
    const relay = this.relay.problem()
    return this.runtime?.problem() ?? (relay ? `relay: ${relay}` : undefined)
  }

  status(): RuntimeStatus | null {
    return this.runtime?.status() ?? null
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k]
  return out
}
