/**
 * Publishes committed outputs to Kafka, then deletes them: `outbox` rows (one record each, as the API
 * writes them) and `outbox_batches` rows (a task's batch of records each). Publication is at least once (a crash
 * between send and delete re-sends): every row carries a deterministic output id so consumers
 * de-duplicate. One relay at a time per database (an advisory lock), so per-key order is kept.
 *
 * Nothing wedges it: rounds are sized by bytes below the broker's batch limit (outbox-round.ts, outbox-batch-round.ts),
 * and a record the broker can never take is moved to `outbox_rejected` with its cause, counted in
 * `commerce_outbox_rejected_total`, and the rows after it go on. Transient errors (broker down, not
 * leader, timeouts) are retried with back-off; readiness reports a relay that keeps failing.
 *
 * An operator replays rejected rows (after fixing the cause, e.g. raising the topic's
 * max.message.bytes) by moving them back; they get new ids, so they publish after what is pending:
 *
 *   with moved as (delete from outbox_rejected where id in (...) returning topic, key, value, headers, created_at)
 *   insert into outbox (topic, key, value, headers, created_at) select * from moved;
 */
import { type Kysely, sql } from 'kysely'
import { describeError } from '../errors.ts'
import { javaPartitioner } from '../partitioner.ts'
import { backoffDelay, sleep } from '../retry.ts'
import type { RuntimeMetrics } from '../runtime/metrics.ts'
import { CompactProducer } from './compact-producer.ts'
import { nextBatchRound, settleBatchRound } from './outbox-batch-round.ts'
import {
  BROKER_MAX_BATCH_BYTES,
  nextRound,
  publishRound,
  type RoundOutcome,
  type Send,
  settleRound,
} from './outbox-round.ts'
import { type Relay, type RelayHealth, RoundSignal, relayProblem } from './relay.ts'
import type { StreamsDatabase } from './schema.ts'

const RELAY_LOCK = 0x636f6d6d // "comm": one advisory lock id for every relay of this database

export interface RelayOptions {
  db: Kysely<StreamsDatabase>
  brokers: readonly string[]
  clientId: string
  metrics?: RuntimeMetrics
  log?: { warn(obj: object, msg: string): void }
  /** Rows per round at most. */
  batchSize?: number
  /** The broker's (or the output topics') `message.max.bytes`; a round never holds more. */
  maxBatchBytes?: number
  /** Poll interval when idle; a `nudge()` after a commit wakes the relay earlier. */
  idleMs?: number
  /** How long publishing may keep failing before `problem()` reports it (readiness). */
  failingAfterMs?: number
  /** After each round, whether it was full (`whenBehind`): the worker thread tells the facade's. */
  onRound?: (behind: boolean) => void
}

/** The options a relay takes when not given, here and on its worker thread (thread-relay.ts). */
export const RELAY_DEFAULTS = {
  batchSize: 5000,
  maxBatchBytes: BROKER_MAX_BATCH_BYTES,
  idleMs: 100,
  failingAfterMs: 30_000,
} as const

export class OutboxRelay implements Relay {
  readonly #options: Required<Omit<RelayOptions, 'metrics' | 'log' | 'onRound'>> &
    Pick<RelayOptions, 'metrics' | 'log' | 'onRound'>
  readonly #producer: CompactProducer
  #running = false
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  /** The last round was cut by its limits: more records are waiting than one round takes. */
  #behind = false
  readonly #rounds = new RoundSignal(false)
  #failures = 0
  #failingSince: number | undefined
  #lastError: string | undefined

  constructor(options: RelayOptions) {
    this.#options = { ...RELAY_DEFAULTS, ...options }
    const { batchSize, maxBatchBytes, failingAfterMs } = this.#options
    for (const [name, value] of Object.entries({ batchSize, maxBatchBytes, failingAfterMs })) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer`)
    }
    this.#producer = new CompactProducer({
      clientId: options.clientId,
      bootstrapBrokers: [...options.brokers],
      idempotent: true,
      partitioner: javaPartitioner,
      retries: 3,
    })
  }

  /** The last publish error while failures continue; undefined when healthy. */
  get error(): string | undefined {
    return this.#failures > 0 ? this.#lastError : undefined
  }

  /** Why the relay counts as not ready: publishing has failed for longer than `failingAfterMs` (relay.ts). */
  problem(now = Date.now()): string | undefined {
    return relayProblem(this.health, this.#options.failingAfterMs, now)
  }

  /** The state `problem()` is judged from (a worker thread's relay sends it to the facade's thread). */
  get health(): RelayHealth {
    return { failingSince: this.#failingSince, failures: this.#failures, lastError: this.#lastError }
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#loop = this.#run()
  }

  nudge(): void {
    this.#wake?.()
  }

  /**
   * While the last round was full (the tasks commit faster than this publishes), a promise settled
   * after the next round; otherwise undefined. The runtime's fetch loop waits on it (`holdFetch`): on
   * one thread, the relay then gets the turns it needs, and the outbox stays within a round or two.
   */
  whenBehind(): Promise<void> | undefined {
    return this.#rounds.whenBehind()
  }

  /** Publishes what is committed now, then stops. */
  async stop(): Promise<void> {
    this.#running = false
    this.nudge()
    await this.#loop
    await this.publishOnce().catch(() => 0)
    this.#behind = false
    this.#rounds.ended(false)
    await this.#producer.close()
  }

  /**
   * One round: publishes (or moves aside) the next rows that fit one batch; returns how many rows it
   * settled. A transient error is thrown after what was settled before it has committed.
   */
  async publishOnce(): Promise<number> {
    try {
      return await this.#publishRound()
    } finally {
      this.#options.onRound?.(this.#behind)
      this.#rounds.ended(this.#behind)
    }
  }

  async #publishRound(): Promise<number> {
    const { db, batchSize, maxBatchBytes } = this.#options
    let behind = this.#behind
    const outcomes = await db.transaction().execute(async (trx): Promise<RoundOutcome[]> => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as locked`.execute(trx)
      if (!rows[0]?.locked) return []
      // The API's rows first, then the tasks' batches, each its own produce request: neither waits
      // for the other to drain, and a transient error in the first leaves the second for next time.
      const outcomes: RoundOutcome[] = []
      behind = false
      for (const [read, settle] of [
        [nextRound, settleRound],
        [nextBatchRound, settleBatchRound],
      ] as const) {
        const round = await read(trx, batchSize, maxBatchBytes)
        if (round.length === 0) continue
        if (round.length >= batchSize || round.reduce((n, r) => n + r.bytes, 0) > maxBatchBytes / 2)
          behind = true
        const outcome = await publishRound(round, maxBatchBytes, (group) => this.#send(group))
        await settle(trx, outcome)
        outcomes.push(outcome)
        if (outcome.error !== undefined) break
      }
      return outcomes
    })
    this.#behind = behind
    let settled = 0
    for (const outcome of outcomes) settled += this.#observe(outcome)
    const failed = outcomes.find((o) => o.error !== undefined)
    if (failed) throw failed.error
    return settled
  }

  async #send(group: Parameters<Send>[0]): Promise<void> {
    await this.#producer.send({
      messages: group.map(({ row, headers }) => ({
        topic: row.topic,
        key: row.key ?? undefined,
        value: row.value,
        // A Map: with no serializers configured, a plain object's header names would go out as strings.
        headers: new Map(headers),
      })),
    })
  }

  /** Metrics and warnings for a settled round; returns how many records it settled. */
  #observe(outcome: RoundOutcome): number {
    const { metrics, log } = this.#options
    const now = Date.now()
    const perTopic = new Map<string, number>()
    for (const r of outcome.published) {
      perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
      metrics?.publishLatency.observe((now - r.created_ms) / 1000)
    }
    // One increment per topic of the round: prom-client hashes the labels on every call.
    for (const [topic, count] of perTopic) metrics?.outboxPublished.inc({ topic }, count)
    for (const { row, reason, cause } of outcome.rejected) {
      metrics?.outboxRejected.inc({ topic: row.topic, reason })
      log?.warn({ id: row.id, topic: row.topic, reason, cause }, 'outbox record moved to outbox_rejected')
    }
    return outcome.published.length + outcome.rejected.length
  }

  async #run(): Promise<void> {
    const { idleMs, log } = this.#options
    while (this.#running) {
      let settled = 0
      try {
        settled = await this.publishOnce()
        this.#failures = 0
        this.#failingSince = undefined
      } catch (error) {
        this.#lastError = describeError(error)
        this.#failingSince ??= Date.now()
        const delay = backoffDelay(this.#failures++, { maxMs: 5_000 })
        log?.warn({ error: this.#lastError, delay }, 'outbox publish failed, retrying')
        await sleep(delay)
        continue
      }
      // Rounds are cut by bytes as well as rows: only an empty round means the outbox is drained.
      if (settled === 0) await this.#idle(idleMs)
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }

  backlog(): Promise<number> {
    return outboxBacklog(this.#options.db)
  }

  rejectedRows(): Promise<number> {
    return outboxRejectedRows(this.#options.db)
  }
}

/**
 * Records committed but not yet published — `outbox` rows, and the records of `outbox_batches` rows not
 * yet sent — as one SQL expression, for a query of its own or a tool's.
 */
export const OUTBOX_BACKLOG_SQL =
  '((select count(*) from outbox) + (select coalesce(sum(record_count - published), 0) from outbox_batches))'

/** Records committed but not yet published, rows and batches (for the backlog gauge). */
export async function outboxBacklog(db: Kysely<StreamsDatabase>): Promise<number> {
  const { rows } = await sql<{ n: string }>`select ${sql.raw(OUTBOX_BACKLOG_SQL)} as n`.execute(db)
  return Number(rows[0]?.n ?? 0)
}

/** Rows moved aside and waiting for an operator (for the rejected-rows gauge and its alert). */
export async function outboxRejectedRows(db: Kysely<StreamsDatabase>): Promise<number> {
  const row = await db
    .selectFrom('outbox_rejected')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
