/**
 * Publishes committed outbox rows to Kafka, then deletes them. Publication is at least once (a crash
 * between send and delete re-sends): every row carries a deterministic output id so consumers
 * de-duplicate. One relay at a time per database (an advisory lock), so per-key order is kept.
 */
import { compatibilityPartitioner, Producer } from '@platformatic/kafka'
import { type Kysely, sql } from 'kysely'
import { describeError } from '../service/errors.ts'
import { backoffDelay, sleep } from '../service/retry.ts'
import type { RuntimeMetrics } from '../topology/runtime/metrics.ts'
import type { Database } from './schema.ts'

const RELAY_LOCK = 0x636f6d6d // "comm": one advisory lock id for every relay of this database

export interface RelayOptions {
  db: Kysely<Database>
  brokers: readonly string[]
  clientId: string
  metrics?: RuntimeMetrics
  log?: { warn(obj: object, msg: string): void }
  batchSize?: number
  /** Poll interval when idle; a `nudge()` after a commit wakes the relay earlier. */
  idleMs?: number
}

export class OutboxRelay {
  readonly #options: Required<Omit<RelayOptions, 'metrics' | 'log'>> & Pick<RelayOptions, 'metrics' | 'log'>
  readonly #producer: Producer
  #running = false
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #failures = 0
  #lastError: string | undefined

  constructor(options: RelayOptions) {
    this.#options = { batchSize: 5000, idleMs: 100, ...options }
    this.#producer = new Producer({
      clientId: options.clientId,
      bootstrapBrokers: [...options.brokers],
      idempotent: true,
      partitioner: compatibilityPartitioner,
      retries: 3,
    })
  }

  /** The last publish error while failures continue; undefined when healthy. */
  get error(): string | undefined {
    return this.#failures > 0 ? this.#lastError : undefined
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#loop = this.#run()
  }

  nudge(): void {
    this.#wake?.()
  }

  /** Publishes what is committed now, then stops. */
  async stop(): Promise<void> {
    this.#running = false
    this.nudge()
    await this.#loop
    await this.publishOnce().catch(() => 0)
    await this.#producer.close()
  }

  /** One round: publishes up to `batchSize` rows; returns how many. */
  async publishOnce(): Promise<number> {
    const { db, batchSize, metrics } = this.#options
    return db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        locked: boolean
      }>`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as locked`.execute(trx)
      if (!rows[0]?.locked) return 0
      const batch = await trx
        .selectFrom('outbox')
        .select(['id', 'topic', 'key', 'value', 'headers'])
        // Milliseconds as a number: parsing a Date per row cost more than the metric is worth.
        .select(sql<number>`extract(epoch from created_at) * 1000`.as('created_ms'))
        .orderBy('id')
        .limit(batchSize)
        .execute()
      if (batch.length === 0) return 0
      await this.#producer.send({
        messages: batch.map((r) => ({
          topic: r.topic,
          key: r.key === null ? undefined : Buffer.from(r.key),
          value: r.value,
          // A Map: with no serializers configured, a plain object's header names would go out as strings.
          headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
        })),
      })
      await trx
        .deleteFrom('outbox')
        .where('id', '=', sql<string>`any(${batch.map((r) => r.id)}::bigint[])`)
        .execute()
      const now = Date.now()
      for (const r of batch) {
        metrics?.outboxPublished.inc({ topic: r.topic })
        metrics?.publishLatency.observe((now - Number(r.created_ms)) / 1000)
      }
      return batch.length
    })
  }

  async #run(): Promise<void> {
    const { idleMs, batchSize, log } = this.#options
    while (this.#running) {
      let published = 0
      try {
        published = await this.publishOnce()
        this.#failures = 0
      } catch (error) {
        this.#lastError = describeError(error)
        const delay = backoffDelay(this.#failures++, { maxMs: 5_000 })
        log?.warn({ error: this.#lastError, delay }, 'outbox publish failed, retrying')
        await sleep(delay)
        continue
      }
      if (published < batchSize) await this.#idle(idleMs)
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

  /** Rows committed but not yet published (for the backlog gauge). */
  async backlog(): Promise<number> {
    const row = await this.#options.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }
}
