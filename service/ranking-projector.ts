/**
 * The ranking projector: keeps the Redis sales ranking in step with the COMPLETED orders and counts
 * the business metrics. A consumer group of its own reads `order-status-topic` and the restore topics;
 * for a batch of COMPLETED events it reads the orders' items and completed_at from PostgreSQL (the
 * source of truth: the status commits with the order, before its event is published) and applies each
 * order with the once-per-order script. At least once: offsets are committed to Kafka after the batch is
 * applied, and a redelivered or re-sent event finds its order already counted.
 *
 * Why a plain consumer and not a library topology: its only effect is in Redis, outside the batch's
 * PostgreSQL transaction, so the runtime's exactly-once commit would buy nothing, and a record whose
 * processing keeps failing goes to the DLQ or stops the partition there — while an order waiting for
 * Redis (down, or being rebuilt) must wait, however long, and never be passed over.
 */
import { Consumer, type Message, Producer } from '@platformatic/kafka'
import type { Kysely } from 'kysely'
import type { OrderStatusEvent } from '../processors/order-messages.ts'
import { ShopHeaders } from '../processors/shop-headers.ts'
import type { TopicNames } from '../processors/topics.ts'
import type { CompletedOrder, SalesRanking } from '../state/ranking.ts'
import { type FinishedOrder, findFinishedOrders } from '../state/ranking-source.ts'
import type { Database } from '../state/schema.ts'
import { javaPartitioner } from '../topology/partitioner.ts'
import { backoffDelay, retryForever, sleep } from '../topology/retry.ts'
import { type BusinessMetrics, NO_REASON, type RankingResult } from './business-metrics.ts'
import { CommerceError, describeError } from './errors.ts'
import type { Logger } from './infrastructure.ts'
import { type ProjectorBatch, readBatch } from './ranking-events.ts'

export interface ProjectorOptions {
  readonly brokers: readonly string[]
  /** The deployment's application id; the group is `<applicationId>-ranking`. */
  readonly applicationId: string
  readonly topics: TopicNames
  readonly db: Kysely<Database>
  readonly ranking: SalesRanking
  readonly metrics: BusinessMetrics
  readonly log: Logger
  readonly sessionTimeoutMs?: number
  /** How often an idle projector checks that Redis still has the view (a restart empties it). */
  readonly checkIntervalMs?: number
}

const MAX_BATCH = 500
/** Ids of events already counted in the metrics: re-sent copies are not counted twice. */
const SEEN_LIMIT = 200_000

export class RankingProjector {
  readonly #o: ProjectorOptions
  readonly #stop = new AbortController()
  readonly #seen = new Set<string>()
  readonly #producer: Producer
  #running: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #readying: Promise<void> | undefined
  #problem: string | undefined = 'not started'

  constructor(options: ProjectorOptions) {
    this.#o = options
    this.#producer = new Producer({
      clientId: `${options.applicationId}-ranking-dlq`,
      bootstrapBrokers: [...options.brokers],
      partitioner: javaPartitioner,
      idempotent: true,
    })
  }

  start(): void {
    this.#running = this.#run()
    this.#timer = setInterval(() => {
      // Nothing may flow while Redis is back but empty: the watch rebuilds it without waiting for an order.
      this.#ensureReady().catch(() => {})
    }, this.#o.checkIntervalMs ?? 1_000)
  }

  async stop(): Promise<void> {
    this.#stop.abort(new CommerceError('DEPENDENCY_UNAVAILABLE', 'ranking projector stopping'))
    clearInterval(this.#timer)
    await this.#running
    await this.#readying?.catch(() => {})
    await this.#producer.close().catch(() => {})
  }

  /** Why the projector cannot keep the ranking current, or undefined. */
  problem(): string | undefined {
    return this.#problem
  }

  /** Consumes until stopped; a consumer that failed (broker gone past its retries) is made anew. */
  async #run(): Promise<void> {
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      try {
        await this.#consume(() => (attempt = 0))
      } catch (error) {
        if (this.#stop.signal.aborted) break
        this.#problem = `kafka: ${describeError(error)}`
        const delayMs = backoffDelay(attempt, { maxMs: 5_000 })
        this.#o.log.warn({ error: describeError(error), delayMs }, 'ranking consumer failed, restarting')
        await sleep(delayMs, this.#stop.signal).catch(() => {})
      }
    }
  }

  async #consume(joined: () => void): Promise<void> {
    const { topics, applicationId, brokers } = this.#o
    const session = this.#o.sessionTimeoutMs ?? 10_000
    const consumer = new Consumer({
      clientId: `${applicationId}-ranking`,
      groupId: `${applicationId}-ranking`,
      bootstrapBrokers: [...brokers],
      autocommit: false,
      sessionTimeout: session,
      heartbeatInterval: Math.max(100, Math.floor(session / 4)),
    })
    try {
      const stream = await consumer.consume({
        topics: [topics.ORDER_STATUS, topics.STOCK_RESTORE, topics.POINT_RESTORE, topics.COUPON_RESTORE],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        maxWaitTime: 200,
      })
      joined()
      this.#problem = undefined
      const queue: Message[] = []
      let failure: unknown
      let wake = () => {}
      stream.on('data', (message: Message) => {
        queue.push(message)
        if (queue.length >= MAX_BATCH) stream.pause()
        wake()
      })
      stream.on('error', (error: unknown) => {
        failure = error
        wake()
      })
      const onAbort = () => wake()
      this.#stop.signal.addEventListener('abort', onAbort)
      try {
        while (!this.#stop.signal.aborted) {
          if (failure) throw failure
          if (queue.length === 0) {
            await new Promise<void>((resolve) => (wake = resolve))
            continue
          }
          const batch = queue.splice(0, MAX_BATCH)
          if (stream.isPaused()) stream.resume()
          await this.#handle(batch)
          await this.#commit(batch)
        }
      } finally {
        this.#stop.signal.removeEventListener('abort', onAbort)
        await stream.close().catch(() => {})
      }
    } finally {
      await consumer.close().catch(() => consumer.close(true).catch(() => {}))
    }
  }

  /** Applies a batch, waiting (capped back-off) for PostgreSQL, Redis and a rebuild; throws only on stop. */
  async #handle(messages: Message[]): Promise<void> {
    const batch = readBatch(messages, this.#o.topics, {
      applicationId: `${this.#o.applicationId}-ranking`,
      outputIdHeader: ShopHeaders.OUTPUT_ID,
    })
    const orders = await retryForever(
      async () => {
        const found = await findFinishedOrders(
          this.#o.db,
          batch.statuses.map((s) => s.orderId),
        )
        const results = await this.#apply(batch.statuses, found)
        if (batch.deadLetters.length > 0) await this.#sendDeadLetters(batch)
        this.#problem = undefined
        return { found, results }
      },
      {
        signal: this.#stop.signal,
        maxMs: 3_000,
        onRetry: (error, attempt, delayMs) => {
          if (attempt >= 2) this.#problem = `waiting: ${describeError(error)}`
          this.#o.log.warn({ error: describeError(error), attempt, delayMs }, 'ranking batch waits')
        },
      },
    )
    this.#count(batch, orders.found, orders.results)
  }

  /** Applies the COMPLETED orders; a view found not ready is rebuilt, then they are applied again. */
  async #apply(
    statuses: OrderStatusEvent[],
    found: Map<number, FinishedOrder>,
  ): Promise<Map<number, RankingResult>> {
    const results = new Map<number, RankingResult>()
    let pending: CompletedOrder[] = []
    for (const s of statuses) {
      if (s.status !== 'COMPLETED') continue
      const order = found.get(s.orderId)
      if (order?.status !== 'COMPLETED' || !order.finishedAt) {
        // Not our order (another producer's event), or not what PostgreSQL says: never counted.
        this.#o.log.warn(
          { orderId: s.orderId, status: order?.status ?? 'absent' },
          'COMPLETED event without a COMPLETED order',
        )
        results.set(s.orderId, 'skipped')
        continue
      }
      pending.push({ orderId: s.orderId, completedAt: order.finishedAt, items: order.items })
    }
    while (pending.length > 0) {
      // node-redis pipelines these calls: one round trip for the batch.
      const outcomes = await Promise.all(pending.map((o) => this.#o.ranking.apply(o)))
      const refused = pending.filter((_, i) => outcomes[i] === 'not-ready')
      pending.forEach((o, i) => {
        if (outcomes[i] !== 'not-ready') results.set(o.orderId, outcomes[i] as RankingResult)
      })
      if (refused.length > 0) await this.#ensureReady()
      pending = refused
    }
    return results
  }

  /** Rebuilds the view when its marker is missing or names another database; one rebuild at a time in this process. */
  #ensureReady(): Promise<void> {
    this.#readying ??= retryForever(
      async () => {
        if (await this.#o.ranking.isReady()) return
        const started = performance.now()
        if (await this.#o.ranking.rebuild()) {
          this.#o.metrics.rankingRebuilds.inc()
          this.#o.log.info(
            { ms: Math.round(performance.now() - started) },
            'sales ranking rebuilt from PostgreSQL',
          )
        }
      },
      { signal: this.#stop.signal, maxMs: 3_000 },
    ).finally(() => (this.#readying = undefined))
    return this.#readying
  }

  async #sendDeadLetters(batch: ProjectorBatch): Promise<void> {
    await this.#producer.send({
      messages: batch.deadLetters.map((r) => ({
        topic: r.topic,
        key: r.key ?? undefined,
        value: r.value ?? Buffer.alloc(0),
        headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      })),
    })
  }

  /** The business metrics, once per order and per restore event id (in this process's memory). */
  #count(
    batch: ProjectorBatch,
    found: Map<number, FinishedOrder>,
    results: Map<number, RankingResult>,
  ): void {
    const m = this.#o.metrics
    for (const [, result] of results) m.rankingUpdates.inc({ result })
    for (const s of batch.statuses) {
      if (!this.#firstTime(`order/${s.orderId}`)) continue
      m.orders.inc({ outcome: s.status, reason: s.status === 'FAILED' ? s.reason : NO_REASON })
      const order = found.get(s.orderId)
      if (order?.status === s.status && order.finishedAt)
        m.orderDuration.observe(
          { outcome: s.status },
          Math.max(0, order.finishedAt.getTime() - order.createdAt.getTime()) / 1000,
        )
    }
    for (const r of batch.restores)
      if (this.#firstTime(`${r.kind}/${r.eventId}`)) m.compensations.inc({ kind: r.kind })
  }

  #firstTime(id: string): boolean {
    if (this.#seen.has(id)) return false
    this.#seen.add(id)
    // A Set iterates in insertion order: the oldest id goes first.
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.values().next().value!)
    return true
  }

  /** Commits each partition's last offset of the batch; a failed commit means redelivery, which is harmless. */
  async #commit(batch: Message[]): Promise<void> {
    const last = new Map<string, Message>()
    for (const m of batch) last.set(`${m.topic}/${m.partition}`, m)
    await Promise.all(
      [...last.values()].map(async (m) => {
        try {
          await m.commit()
        } catch (error) {
          this.#o.log.warn({ error: describeError(error), topic: m.topic }, 'ranking offset commit failed')
        }
      }),
    )
  }
}
