/**
 * Drives one PartitionTask on the Kafka runtime: the fetch loop pushes fetched records into the task's
 * pipeline (`taskPipeline`: batch by count or linger, commit one batch at a time, retry with back-off),
 * and reads back from the pipeline's ledger how many bytes it holds (back-pressure) and where the next
 * fetch starts.
 */
import {
  BehaviorSubject,
  catchError,
  EMPTY,
  from,
  lastValueFrom,
  map,
  merge,
  ReplaySubject,
  Subject,
  scan,
  share,
  startWith,
  tap,
} from 'rxjs'
import { describeError } from '../errors.ts'
import { backoffDelay, sleep } from '../retry.ts'
import { FencedError } from './backend.ts'
import type { Arrival } from './batch-records.ts'
import type { BatchResult } from './batch-result.ts'
import type { FetchedPartition, FetchTarget } from './fetcher.ts'
import type { RuntimeMetrics } from './metrics.ts'
import type { PartitionTask } from './task.ts'
import {
  arrivalOf,
  type Ledger,
  type LedgerEvent,
  openLedger,
  queuedBytes,
  resetOf,
  settle,
} from './task-ledger.ts'
import { type Committed, taskPipeline } from './task-pipeline.ts'

export interface RunnerOptions {
  maxBatch: number
  lingerMs: number
  /**
   * Memory of fetched records a task holds before it stops fetching, as the ledger counts it (key +
   * value + headers + `HELD_RECORD_OVERHEAD` per record): the queue's memory bound. A queue holds no
   * more than this (give or take one fetch of compressed batches, which expand more than the task
   * expects until it has seen them), or one batch when a batch alone is larger (`ONE_RECORD_BYTES`).
   */
  maxQueueBytes: number
  metrics: RuntimeMetrics
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
  clock: () => number
  onCommitted: () => void
  onFenced: (runner: TaskRunner) => void
}

/**
 * What a fetch asks for when a partition's next batch did not fit in what it asked before: the
 * broker's default `message.max.bytes`, so no batch (hence no record) is larger. Kafka only returns a
 * batch larger than the partition's limit when it is the first data in the whole response, which a
 * partition shared with others cannot count on; otherwise the partition comes back empty.
 */
export const ONE_RECORD_BYTES = 1_048_588

/**
 * Held bytes (as the ledger counts them) per fetched byte, before a task has seen any: records of ~16
 * bytes on the wire. Pessimistic on purpose: the first fetch asks for little, the next ones for what
 * the records fetched so far turned out to cost (`#expansion`).
 */
export const FIRST_EXPANSION = 32

/** Waits between attempts of a failed commit: 50, 100, 200 ... ms, at most 5 s (each jittered down by up to 20%). */
export const COMMIT_BACKOFF = { initialMs: 50, maxMs: 5_000 } as const

export type RunnerStatus = 'opening' | 'running' | 'stopped' | 'fenced' | 'closed'

export class TaskRunner {
  readonly task: PartitionTask
  #status: RunnerStatus = 'opening'
  readonly #highWatermarks = new Map<string, bigint>()
  readonly #options: RunnerOptions
  #stopping = false
  /** Fetched records and fetch-position moves: the pipeline's input. */
  readonly #arrivals = new Subject<Arrival>()
  /** The pipeline's ledger: what it holds and where fetching goes on, as of the last arrival or commit. */
  readonly #ledger = new BehaviorSubject<Ledger>(openLedger(new Map()))
  readonly #stop = new ReplaySubject<void>(1)
  #loop: Promise<void> = Promise.resolve()
  /** The claim in progress, if any: stop() waits for it, so no claim lands after the runner stopped. */
  #opening: Promise<void> = Promise.resolve()
  /** Cuts the back-off between claim attempts short when the runner stops. */
  readonly #stopped = new AbortController()
  #commitError: string | undefined
  /**
   * Held bytes per fetched byte in the last fetch that brought records. A fetch's limit is in wire
   * bytes and a small record costs far more held than on the wire (its objects), so the free bytes
   * are divided by this to ask for what fits.
   */
  #expansion = FIRST_EXPANSION
  /** Topics whose last fetch brought nothing though the log holds more: their next batch is larger than the ask. */
  readonly #starved = new Set<string>()

  constructor(task: PartitionTask, options: RunnerOptions) {
    this.task = task
    this.#options = options
  }

  get status(): RunnerStatus {
    return this.#status
  }

  /** Why the task cannot make progress, if it cannot. */
  get problem(): string | undefined {
    if (this.#status === 'stopped') return this.task.stopReason
    return this.#commitError
  }

  /**
   * Claims and loads the task (retrying while PostgreSQL is down), then starts its pipeline — unless
   * the runner was stopped meanwhile: then it claims no more and starts nothing.
   */
  open(fallback: ReadonlyMap<string, bigint>, signal: AbortSignal): Promise<void> {
    this.#opening = this.#open(fallback, AbortSignal.any([signal, this.#stopped.signal]))
    return this.#opening
  }

  async #open(fallback: ReadonlyMap<string, bigint>, signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !this.#stopping; attempt++) {
      try {
        await this.task.open(fallback)
        break
      } catch (error) {
        this.#commitError = describeError(error)
        this.#options.log.warn({ task: this.#name, error: this.#commitError }, 'task claim failed, retrying')
        await sleep(backoffDelay(attempt, { maxMs: 5_000 }), signal).catch(() => {})
      }
    }
    if (this.#stopping) return
    this.#commitError = undefined
    this.#status = 'running'
    this.#loop = this.#run(openLedger(this.task.positions))
  }

  /**
   * Wants records when nothing is held, or else when half the bound is free (so a fetch brings a
   * useful amount, not a batch at a time) and no partition waits for a batch larger than its ask (that
   * one comes when the queue is empty, and alone is allowed past the bound).
   */
  wantsFetch(): boolean {
    if (this.#status !== 'running' || this.#stopping) return false
    if (this.#ledger.value.held.length === 0) return true
    return this.#starved.size === 0 && this.#freeBytes() >= this.#options.maxQueueBytes / 2
  }

  fetchTargets(): FetchTarget[] {
    const { from } = this.#ledger.value
    // A fetch returns up to maxBytes per partition whatever the pipeline holds: ask for the wire bytes
    // whose records fit in what is free, so the bound holds. A partition whose next batch is larger
    // than that came back empty last time: it asks for one record's worth (wantsFetch waits for an
    // empty queue first).
    const share = Math.max(1, Math.floor(this.#freeBytes() / from.size / this.#expansion))
    return [...from].map(([topic, offset]) => ({
      topic,
      partition: this.task.id.partition,
      offset,
      maxBytes: this.#starved.has(topic) ? Math.max(ONE_RECORD_BYTES, share) : share,
    }))
  }

  /** Takes fetched records; ones already held or committed (a re-fetch) are dropped. */
  deliver(fetched: FetchedPartition): void {
    this.#highWatermarks.set(fetched.topic, fetched.highWatermark)
    const from = this.#ledger.value.from.get(fetched.topic)
    if (fetched.records.length > 0 && fetched.fetchedBytes > 0) {
      const held = fetched.records.reduce((n, r) => n + queuedBytes(r), 0)
      this.#expansion = Math.max(1, held / fetched.fetchedBytes)
      this.#starved.delete(fetched.topic)
    } else if (from !== undefined && fetched.nextOffset <= from && fetched.highWatermark > from)
      this.#starved.add(fetched.topic)
    const arrival = arrivalOf(fetched, this.#ledger.value)
    if (!arrival) return
    this.#options.metrics.consumed.inc(
      { topic: fetched.topic, partition: fetched.partition },
      arrival.records.length,
    )
    this.#arrivals.next(arrival)
  }

  /**
   * The fetch position is gone from the log (retention, deleteRecords): continue from `offset`, the
   * log's start. The task commits the jump with its next batch (an empty one if no record follows),
   * so a restart does not hit the same wall. Returns how many offsets were skipped.
   */
  resetFetch(topic: string, offset: bigint): bigint {
    const ledger = this.#ledger.value
    const reset = resetOf(topic, offset, ledger)
    if (!reset) return 0n
    this.#arrivals.next(reset)
    return offset - ledger.from.get(topic)!
  }

  /** Where the next fetch of `topic` starts. */
  fetchPosition(topic: string): bigint | undefined {
    return this.#ledger.value.from.get(topic)
  }

  /** Updates the lag gauges: records behind the high watermark, and the age of the oldest waiting one. */
  reportLag(): void {
    const { metrics, clock } = this.#options
    const { held } = this.#ledger.value
    for (const [topic, position] of this.task.positions) {
      const labels = { topic, partition: this.task.id.partition }
      const hw = this.#highWatermarks.get(topic)
      if (hw !== undefined) metrics.lagRecords.set(labels, Math.max(0, Number(hw - position)))
      const oldest = held.find((r) => r.topic === topic)
      metrics.lagSeconds.set(labels, oldest ? Math.max(0, (clock() - oldest.timestamp) / 1000) : 0)
    }
  }

  /** Finishes the commit in flight, drops what waits behind it, then closes the task. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#stopped.abort()
    this.#stop.next()
    await this.#opening
    await this.#loop
    this.#arrivals.complete()
    this.task.close()
    if (this.#status !== 'fenced') this.#status = 'closed'
    for (const topic of this.task.topics) {
      const labels = { topic, partition: this.task.id.partition }
      this.#options.metrics.lagRecords.remove(labels)
      this.#options.metrics.lagSeconds.remove(labels)
    }
  }

  #freeBytes(): number {
    return Math.max(0, this.#options.maxQueueBytes - this.#ledger.value.bytes)
  }

  get #name(): string {
    return `${this.task.id.processor}/${this.task.id.partition}`
  }

  /**
   * Runs the task's pipeline until the runner stops, the task is fenced, or its error policy stopped
   * it; the ledger follows the arrivals in and the committed batches out.
   */
  #run(start: Ledger): Promise<void> {
    const { maxBatch, lingerMs } = this.#options
    const committed = taskPipeline(this.#arrivals, {
      maxBatch,
      lingerMs,
      commit: (batch) => {
        const started = performance.now()
        return from(this.task.runBatch(batch.records, batch.advance)).pipe(
          tap((result) => this.#committed(result, started)),
        )
      },
      isLast: (result) => result.stoppedAt !== undefined,
      isFatal: (error) => error instanceof FencedError,
      backoff: (attempt) => backoffDelay(attempt - 1, COMMIT_BACKOFF),
      onRetry: (error, attempt, delay) => this.#retrying(error, attempt, delay),
      stop: this.#stop,
    }).pipe(
      catchError((error: unknown) => {
        if (!(error instanceof FencedError)) throw error
        this.#fenced(error)
        return EMPTY
      }),
      share(),
    )
    // Subscribed before the pipeline (merge subscribes in order): the ledger sees each arrival before
    // the pipeline does, so a batch is never taken off the ledger before its records were put on it.
    const events = merge(
      this.#arrivals.pipe(map((arrival): LedgerEvent => ({ kind: 'arrived', arrival }))),
      committed.pipe(map(({ batch }: Committed<BatchResult>): LedgerEvent => ({ kind: 'committed', batch }))),
    )
    events.pipe(scan(settle, start), startWith(start)).subscribe(this.#ledger)
    return lastValueFrom(committed, { defaultValue: undefined }).then(() => {})
  }

  #retrying(error: unknown, attempt: number, delay: number): void {
    this.#options.metrics.commitFailures.inc({ processor: this.task.id.processor, reason: 'error' })
    this.#commitError = describeError(error)
    this.#options.log.warn(
      { task: this.#name, attempt, delay, error: this.#commitError },
      'batch commit failed, retrying',
    )
  }

  #fenced(error: FencedError): void {
    this.#options.metrics.commitFailures.inc({ processor: this.task.id.processor, reason: 'fenced' })
    this.#status = 'fenced'
    this.#options.log.warn({ task: this.#name, error: error.message }, 'task fenced, dropping it')
    this.#options.onFenced(this)
  }

  /** Records a committed batch's metrics; marks the runner stopped when its error policy stopped the task. */
  #committed(result: BatchResult, started: number): void {
    const { metrics, log, clock } = this.#options
    const processor = this.task.id.processor
    metrics.commitDuration.observe({ processor }, (performance.now() - started) / 1000)
    if (result.consumed > 0) metrics.batchSize.observe({ processor }, result.consumed)
    const now = clock()
    // One increment per topic of the batch, not per record: prom-client hashes the labels on every call.
    const byTopic = new Map<string, number[]>()
    for (const r of result.committed) {
      const ages = byTopic.get(r.topic) ?? byTopic.set(r.topic, []).get(r.topic)!
      ages.push(Math.max(0, now - r.timestamp) / 1000)
    }
    for (const [topic, ages] of byTopic) {
      metrics.processed.inc({ topic, partition: this.task.id.partition }, ages.length)
      const labels = { topic }
      for (const age of ages) metrics.endToEnd.observe(labels, age)
    }
    for (const d of result.dead) metrics.dlq.inc({ topic: d.topic, code: d.code })
    for (const topic of result.duplicates)
      metrics.duplicates.inc({ topic, partition: this.task.id.partition })
    this.#commitError = undefined
    if (result.outputs + result.dlq > 0) this.#options.onCommitted()
    if (!result.stoppedAt) return
    this.#status = 'stopped'
    log.warn({ task: this.#name, reason: this.task.stopReason }, 'task stopped by its error policy')
  }
}
