/**
 * Drives one PartitionTask on the Kafka runtime: a bounded queue fed by the fetcher, and an RxJS
 * pipeline that takes batches (by count, or after a short linger), commits them one at a time in
 * partition order, and retries a failed commit with capped back-off — the batch is re-run from the
 * same records, so nothing is skipped or applied twice.
 */
import {
  catchError,
  concatMap,
  defer,
  filter,
  from,
  lastValueFrom,
  map,
  type Observable,
  of,
  race,
  repeat,
  retry,
  Subject,
  startWith,
  switchMap,
  take,
  takeWhile,
  tap,
  throwError,
  timer,
} from 'rxjs'
import { describeError } from '../../service/errors.ts'
import { backoffDelay, sleep } from '../../service/retry.ts'
import type { RawRecord } from '../record.ts'
import { FencedError } from './backend.ts'
import type { BatchResult } from './batch-result.ts'
import type { FetchedPartition, FetchTarget } from './fetcher.ts'
import type { RuntimeMetrics } from './metrics.ts'
import type { PartitionTask } from './task.ts'

export interface RunnerOptions {
  maxBatch: number
  lingerMs: number
  /**
   * Bytes of fetched records (key + value + headers) a task holds before it stops fetching: the queue's
   * memory bound. A queue never holds more than this, or one record's worth (`ONE_RECORD_BYTES` per
   * source topic) when that is larger.
   */
  maxQueueBytes: number
  metrics: RuntimeMetrics
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
  clock: () => number
  onCommitted: () => void
  onFenced: (runner: TaskRunner) => void
}

/**
 * What a fetch asks for at least, per partition: the broker's default `message.max.bytes`, so no batch
 * (hence no record) is larger. Kafka only returns a batch larger than the partition's limit when it
 * is the first data in the whole response, which a partition shared with others cannot count on.
 */
export const ONE_RECORD_BYTES = 1_048_588

/** A record's size as the queue accounts it: the bytes it keeps alive, key + value + headers. */
export function queuedBytes(record: RawRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0)
  for (const [name, value] of Object.entries(record.headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value)
  return bytes
}

export type RunnerStatus = 'opening' | 'running' | 'stopped' | 'fenced' | 'closed'

export class TaskRunner {
  readonly task: PartitionTask
  #status: RunnerStatus = 'opening'
  #queue: RawRecord[] = []
  readonly #fetchFrom = new Map<string, bigint>()
  readonly #highWatermarks = new Map<string, bigint>()
  readonly #options: RunnerOptions
  #stopping = false
  /** Ticks when records arrive or the runner stops: what a waiting batch reacts to. */
  readonly #arrivals = new Subject<void>()
  #loop: Promise<void> = Promise.resolve()
  /** The claim in progress, if any: stop() waits for it, so no claim lands after the runner stopped. */
  #opening: Promise<void> = Promise.resolve()
  /** Cuts the back-off between claim attempts short when the runner stops. */
  readonly #stopped = new AbortController()
  #commitError: string | undefined
  /** Sum of `queuedBytes` over the queue. */
  #queueBytes = 0

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
   * Claims and loads the task (retrying while PostgreSQL is down), then starts the batch loop — unless
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
    for (const [topic, offset] of this.task.positions) this.#fetchFrom.set(topic, offset)
    this.#status = 'running'
    this.#loop = this.#run()
  }

  /** Wants records while one record's worth per partition fits in the free bytes (or the queue is empty). */
  wantsFetch(): boolean {
    if (this.#status !== 'running' || this.#stopping) return false
    return this.#queue.length === 0 || this.#freeBytes() >= ONE_RECORD_BYTES * this.#fetchFrom.size
  }

  fetchTargets(): FetchTarget[] {
    // A fetch returns up to maxBytes per partition whatever the queue holds: ask for what is free, so the
    // bound holds; but never less than one record's worth, or a record larger than the bound would
    // never come (wantsFetch waits until that much is free, so the bound still holds then).
    const maxBytes = Math.max(ONE_RECORD_BYTES, Math.floor(this.#freeBytes() / this.#fetchFrom.size))
    return [...this.#fetchFrom].map(([topic, offset]) => ({
      topic,
      partition: this.task.id.partition,
      offset,
      maxBytes,
    }))
  }

  /** Takes fetched records; ones already queued or committed (a re-fetch) are dropped. */
  deliver(fetched: FetchedPartition): void {
    this.#highWatermarks.set(fetched.topic, fetched.highWatermark)
    let from = this.#fetchFrom.get(fetched.topic)
    if (from === undefined) return
    let taken = 0
    for (const record of fetched.records) {
      if (record.offset < from) continue
      this.#queue.push(record)
      this.#queueBytes += queuedBytes(record)
      from = record.offset + 1n
      taken++
    }
    // Past transaction markers and aborted records too: they hold offsets but nothing to process.
    if (fetched.nextOffset > from) from = fetched.nextOffset
    this.#fetchFrom.set(fetched.topic, from)
    this.#options.metrics.consumed.inc({ topic: fetched.topic, partition: fetched.partition }, taken)
    this.#arrivals.next()
  }

  /**
   * The fetch position is gone from the log (retention, deleteRecords): continue from `offset`, the
   * log's start. The task commits the jump with its next batch (an empty one if no record follows),
   * so a restart does not hit the same wall. Returns how many offsets were skipped.
   */
  resetFetch(topic: string, offset: bigint): bigint {
    const from = this.#fetchFrom.get(topic)
    if (from === undefined || offset <= from) return 0n
    this.#fetchFrom.set(topic, offset)
    this.#arrivals.next()
    return offset - from
  }

  /** Where the next fetch of `topic` starts. */
  fetchPosition(topic: string): bigint | undefined {
    return this.#fetchFrom.get(topic)
  }

  /** Updates the lag gauges: records behind the high watermark, and the age of the oldest waiting one. */
  reportLag(): void {
    const { metrics, clock } = this.#options
    for (const [topic, position] of this.task.positions) {
      const labels = { topic, partition: this.task.id.partition }
      const hw = this.#highWatermarks.get(topic)
      if (hw !== undefined) metrics.lagRecords.set(labels, Math.max(0, Number(hw - position)))
      const oldest = this.#queue.find((r) => r.topic === topic)
      metrics.lagSeconds.set(labels, oldest ? Math.max(0, (clock() - oldest.timestamp) / 1000) : 0)
    }
  }

  /** Finishes the batch in flight (committing it if it can), then closes the task. */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#stopped.abort()
    this.#arrivals.next()
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
    return Math.max(0, this.#options.maxQueueBytes - this.#queueBytes)
  }

  #dequeue(count: number): void {
    for (const record of this.#queue.splice(0, count)) this.#queueBytes -= queuedBytes(record)
  }

  get #name(): string {
    return `${this.task.id.processor}/${this.task.id.partition}`
  }

  /**
   * The task's pipeline: wait for a batch, commit it, drop it from the queue, again — until the runner
   * stops, the task is fenced, or its error policy stopped it. One commit at a time keeps partition order.
   */
  async #run(): Promise<void> {
    const iteration = defer(() => this.#batchReady()).pipe(
      concatMap(({ records, advance }) =>
        this.#stopping
          ? of(false)
          : this.#commit(records, advance).pipe(tap((done) => done && this.#dequeue(records.length))),
      ),
    )
    await lastValueFrom(iteration.pipe(repeat(), takeWhile(Boolean)), { defaultValue: false })
  }

  /** True when the fetch position moved past offsets the task holds no records for (markers, a reset). */
  #hasGap(): boolean {
    if (this.#queue.length > 0) return false
    for (const [topic, from] of this.#fetchFrom)
      if (from > (this.task.positions.get(topic) ?? from)) return true
    return false
  }

  /**
   * Emits the next batch: at once when the queue holds `maxBatch` records, else `lingerMs` after the first.
   * A batch that takes the whole queue also moves the task to the fetch position (`advance`), so offsets
   * without records to process (transaction markers, a reset past deleted records) get committed too.
   */
  #batchReady(): Observable<{ records: RawRecord[]; advance?: ReadonlyMap<string, bigint> }> {
    const { maxBatch, lingerMs } = this.#options
    const changes = this.#arrivals.pipe(startWith(undefined))
    const full = () => this.#stopping || this.#queue.length >= maxBatch
    return changes.pipe(
      filter(() => this.#stopping || this.#queue.length > 0 || this.#hasGap()),
      take(1),
      switchMap(() => (full() ? of(undefined) : race(timer(lingerMs), changes.pipe(filter(full), take(1))))),
      map(() => {
        const records = this.#queue.slice(0, maxBatch)
        return records.length === this.#queue.length
          ? { records, advance: new Map(this.#fetchFrom) }
          : { records }
      }),
    )
  }

  /** Commits a batch, retrying on errors; emits false when the runner must stop (fenced, stopped, stopping). */
  #commit(batch: RawRecord[], advance?: ReadonlyMap<string, bigint>): Observable<boolean> {
    const { metrics, log } = this.#options
    const processor = this.task.id.processor
    return defer(() => {
      const started = performance.now()
      return from(this.task.runBatch(batch, advance)).pipe(map((result) => this.#committed(result, started)))
    }).pipe(
      retry({
        delay: (error: unknown, attempt: number) => {
          if (error instanceof FencedError || this.#stopping) return throwError(() => error)
          metrics.commitFailures.inc({ processor, reason: 'error' })
          this.#commitError = describeError(error)
          const delay = backoffDelay(attempt - 1, { maxMs: 5_000 })
          log.warn(
            { task: this.#name, attempt, delay, error: this.#commitError },
            'batch commit failed, retrying',
          )
          return timer(delay)
        },
      }),
      catchError((error: unknown) => {
        if (error instanceof FencedError) {
          metrics.commitFailures.inc({ processor, reason: 'fenced' })
          this.#status = 'fenced'
          log.warn({ task: this.#name, error: error.message }, 'task fenced, dropping it')
          this.#options.onFenced(this)
        }
        return of(false)
      }),
    )
  }

  /** Records a committed batch's metrics; false when its error policy stopped the task. */
  #committed(result: BatchResult, started: number): boolean {
    const { metrics, log, clock } = this.#options
    const processor = this.task.id.processor
    metrics.commitDuration.observe({ processor }, (performance.now() - started) / 1000)
    if (result.consumed > 0) metrics.batchSize.observe({ processor }, result.consumed)
    const now = clock()
    for (const r of result.committed) {
      metrics.processed.inc({ topic: r.topic, partition: this.task.id.partition })
      metrics.endToEnd.observe({ topic: r.topic }, Math.max(0, now - r.timestamp) / 1000)
    }
    for (const d of result.dead) metrics.dlq.inc({ topic: d.topic, code: d.code })
    for (const topic of result.duplicates)
      metrics.duplicates.inc({ topic, partition: this.task.id.partition })
    this.#commitError = undefined
    if (result.outputs + result.dlq > 0) this.#options.onCommitted()
    if (!result.stoppedAt) return true
    this.#status = 'stopped'
    log.warn({ task: this.#name, reason: this.task.stopReason }, 'task stopped by its error policy')
    return false
  }
}
