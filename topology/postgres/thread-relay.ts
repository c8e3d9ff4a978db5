/**
 * The outbox relay on a worker thread of its own (relay-worker.ts), seen from the facade's thread as
 * any relay. Publishing is a second job beside the tasks — reading the rows back, encoding and
 * sending them, deleting them — and Node runs JavaScript on one core per thread: on its own thread
 * the relay uses the core the tasks leave idle instead of taking turns with them.
 *
 * The worker connects with its own PostgreSQL pool (`databaseUrl`) and producer. Across the threads:
 * `nudge()` after a commit (a message), the relay's metric calls (replayed on the facade's metrics,
 * relay-messages.ts), its health (so `problem()` answers at once, here), its warnings (to `log`), and
 * `stop()`, which returns once the worker published what was committed and closed its pool. The
 * backlog and rejected-row counts are queries, made here with the facade's pool.
 */
import type { Worker } from 'node:worker_threads'
import type { Kysely } from 'kysely'
import { describeError } from '../errors.ts'
import type { RuntimeMetrics } from '../runtime/metrics.ts'
import { startWorker } from '../worker-heap.ts'
import { outboxBacklog, outboxRejectedRows, RELAY_DEFAULTS, type RelayOptions } from './outbox-relay.ts'
import { type Relay, type RelayHealth, RoundSignal, relayProblem } from './relay.ts'
import {
  type FromWorker,
  RELAY_WORKER,
  type RelayWorkerData,
  replayMetricCalls,
  type ToWorker,
} from './relay-messages.ts'
import type { StreamsDatabase } from './schema.ts'

export interface ThreadRelayOptions extends Omit<RelayOptions, 'log' | 'onRound'> {
  /** Where the worker connects: the database `db` (used here for the counts) is. */
  databaseUrl: string
  metrics?: RuntimeMetrics
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void }
}

const NUDGE: ToWorker = { type: 'nudge' }

/**
 * The relay's semi-spaces (MiB; worker-heap.ts). At the tasks' 16 MiB its new space held 32 MB of RSS
 * for a thread that keeps only a round's rows alive. Smaller costs GC time: the relay makes ~7.5 KB of
 * garbage per record published (mostly @platformatic/kafka's encoding), so at 8 MiB it scavenges twice
 * as often (+~2 s of the worker's time per 1M records), at 4 MiB publication fell behind the commits.
 * docs/benchmarks.md, "Memory of the runtime process".
 */
export const RELAY_SEMI_SPACE_MB = 8

export class ThreadRelay implements Relay {
  readonly #options: ThreadRelayOptions
  readonly #db: Kysely<StreamsDatabase>
  #worker: Worker | undefined
  #health: RelayHealth = { failingSince: undefined, failures: 0, lastError: undefined }
  /** Why the worker ended without being asked to: readiness reports it until the app stops. */
  #died: string | undefined
  #exited = false
  #stopping: Promise<void> | undefined
  /** Resolves on the worker's 'stopped' message, or its end, whichever comes first. */
  #stopped: (() => void) | undefined
  /**
   * The worker's last round was full (its 'round' messages); waiters settle on the next one. Until its
   * first round the worker is still starting (a few hundred ms of loading), so it counts as behind:
   * tasks that started first would otherwise commit a whole backlog with nobody publishing.
   */
  readonly #rounds = new RoundSignal(true)

  constructor(options: ThreadRelayOptions) {
    this.#options = options
    this.#db = options.db
  }

  get error(): string | undefined {
    return this.#died ?? (this.#health.failures > 0 ? this.#health.lastError : undefined)
  }

  problem(now = Date.now()): string | undefined {
    if (this.#died) return `the relay's worker thread ended: ${this.#died}`
    const failingAfterMs = this.#options.failingAfterMs ?? RELAY_DEFAULTS.failingAfterMs
    return relayProblem(this.#health, failingAfterMs, now)
  }

  start(): void {
    if (this.#worker) return
    const { databaseUrl, db: _db, metrics: _metrics, log: _log, ...relay } = this.#options
    const workerData: RelayWorkerData = {
      kind: RELAY_WORKER,
      databaseUrl,
      relay: { ...relay, brokers: [...relay.brokers] },
    }
    const worker = startWorker(new URL('./relay-worker.ts', import.meta.url), {
      workerData,
      semiSpaceMb: RELAY_SEMI_SPACE_MB,
    })
    this.#worker = worker
    worker.on('message', (message: FromWorker) => this.#receive(message))
    worker.on('error', (error) => {
      this.#died = describeError(error)
      this.#options.log?.error({ error: this.#died }, "the outbox relay's worker thread failed")
    })
    worker.once('exit', (code) => {
      this.#exited = true
      this.#rounds.ended(false)
      if (!this.#stopping) this.#died ??= `exited with code ${code}`
      this.#stopped?.()
    })
  }

  nudge(): void {
    this.#worker?.postMessage(NUDGE)
  }

  /** Publishes what is committed now (on the worker), then ends the worker. */
  stop(): Promise<void> {
    const worker = this.#worker
    if (!worker || this.#exited) return Promise.resolve()
    this.#stopping ??= (async () => {
      const stopped = new Promise<void>((resolve) => (this.#stopped = resolve))
      worker.postMessage({ type: 'stop' } satisfies ToWorker)
      await stopped
      await worker.terminate()
    })()
    return this.#stopping
  }

  /** As `OutboxRelay.whenBehind`, from the worker's 'round' messages: the tasks wait for its rounds too. */
  whenBehind(): Promise<void> | undefined {
    return this.#rounds.whenBehind()
  }

  backlog(): Promise<number> {
    return outboxBacklog(this.#db)
  }

  rejectedRows(): Promise<number> {
    return outboxRejectedRows(this.#db)
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case 'metrics':
        if (this.#options.metrics) replayMetricCalls(this.#options.metrics, message.calls)
        return
      case 'health':
        this.#health = message.health
        return
      case 'log':
        this.#options.log?.warn(message.obj, message.msg)
        return
      case 'round':
        this.#rounds.ended(message.behind)
        return
      case 'stopped':
        this.#rounds.ended(false)
        this.#stopped?.()
        return
    }
  }
}
