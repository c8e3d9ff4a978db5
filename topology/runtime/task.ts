/**
 * One task: a processor on one partition (of each topic it reads). It turns a batch of raw records into
 * one atomic commit — parse, process in order against in-memory stores, collect outputs and DLQ
 * records, then hand everything with the next offsets to the backend. It does no I/O of its own, so
 * the Kafka runtime and the TopologyTestDriver run exactly the same code.
 */
import type {
  ErrorPolicy,
  KeyValueStore,
  Processor,
  ProcessorContext,
  TableRow,
  ValueParser,
} from '../api.ts'
import { RecordError, type RecordErrorCode, StreamsError } from '../errors.ts'
import type { RawRecord, StreamRecord } from '../record.ts'
import { type BufferedKeyValueStore, InMemoryKeyValueStore } from '../stores/key-value.ts'
import { KeyedKeyValueStore } from '../stores/keyed-store.ts'
import { AppliedIds } from './applied-ids.ts'
import {
  type BatchCommit,
  type CommitOutcome,
  CommitOutcomes,
  CommitRejectedError,
  FencedError,
  type OutboxRecord,
  type TaskId,
} from './backend.ts'
import { readBatch } from './batch-reads.ts'
import { type BatchResult, emptyResult, mergeResults } from './batch-result.ts'
import { deadLetter, groupRows, Headers } from './outputs.ts'
import { parseRecord } from './parse-record.ts'
import { createTaskContext } from './task-context.ts'
import type { TaskOptions, TaskState } from './task-options.ts'

export type { TaskObserver, TaskOptions, TaskState } from './task-options.ts'
export { Headers }

type Failure = { policy: ErrorPolicy; code: RecordErrorCode; message: string }
type MaybeFailure = Failure | undefined
/** Where a record's attempt started: each store's journal mark, and the outputs and rows before it. */
type Undo = { stores: number[]; outputs: number; rows: number }

export class PartitionTask {
  readonly id: TaskId
  #state: TaskState = 'new'
  #epoch = -1
  #stopReason: string | undefined
  readonly #positions = new Map<string, bigint>()
  readonly #stores = new Map<string, BufferedKeyValueStore<unknown>>()
  /** The stores in a list, for the marks taken before every record. */
  readonly #storeList: BufferedKeyValueStore<unknown>[]
  readonly #sinks: ReadonlyMap<string, string>
  readonly #parsers: ReadonlyMap<string, { parse: ValueParser<unknown>; keyOwned: boolean }>
  readonly #processor: Processor<unknown>
  readonly #options: TaskOptions
  #outputs: OutboxRecord[] = []
  #rows: Array<{ table: string; row: TableRow }> = []
  #lookups = new Map<string, Map<string, unknown>>()
  readonly #tables: ReadonlySet<string>
  #current: StreamRecord | undefined
  readonly #context: ProcessorContext
  #emitted = 0
  readonly #applied: AppliedIds

  constructor(options: TaskOptions) {
    this.#options = options
    const { topology, processor, partition } = options
    this.id = { applicationId: topology.applicationId, processor: processor.name, partition }
    this.#sinks = new Map(processor.sinks.map((s) => [s, topology.node('sink', s).topic]))
    this.#parsers = new Map(
      processor.sources.map((s) => {
        const source = topology.node('source', s)
        return [source.topic, { parse: source.parse, keyOwned: source.keyOwned === true }]
      }),
    )
    for (const name of processor.stores) {
      const node = topology.node('store', name)
      const store =
        node.loading === 'keyed'
          ? new KeyedKeyValueStore(name, node.maxCachedEntries)
          : new InMemoryKeyValueStore(name)
      this.#stores.set(name, store)
    }
    this.#storeList = [...this.#stores.values()]
    this.#tables = new Set(processor.tables)
    this.#processor = processor.supplier()
    this.#applied = new AppliedIds(this.id, options)
    this.#context = createTaskContext({
      id: this.id,
      clock: options.clock,
      outputIdHeader: topology.outputIdHeader,
      stores: this.#stores,
      tables: this.#tables,
      sinks: this.#sinks,
      partitions: options.partitions ?? (() => undefined),
      lookups: () => this.#lookups,
      current: () => this.#current,
      nextEmitted: () => this.#emitted++,
      pushRow: (row) => this.#rows.push(row),
      pushOutput: (output) => this.#outputs.push(output),
    })
  }

  get state(): TaskState {
    return this.#state
  }

  get stopReason(): string | undefined {
    return this.#stopReason
  }

  /** Committed next offset per source topic. */
  get positions(): ReadonlyMap<string, bigint> {
    return this.#positions
  }

  get topics(): string[] {
    return [...this.#parsers.keys()]
  }

  /** How many output ids its de-duplication window holds in memory. */
  get rememberedIds(): number {
    return this.#applied.size
  }

  /** Read access to a store, for tests and the driver. */
  store<V>(name: string): KeyValueStore<V> | undefined {
    return this.#stores.get(name) as KeyValueStore<V> | undefined
  }

  /** Claims the task (fencing earlier owners), loads its stores and window, starts the processor. */
  async open(fallback: ReadonlyMap<string, bigint>): Promise<void> {
    const { backend, owner } = this.#options
    const claim = await backend.claim(this.id, owner, fallback)
    this.#epoch = claim.epoch
    for (const [topic, offset] of claim.offsets) this.#positions.set(topic, offset)
    await Promise.all([this.#loadStores(), this.#applied.load(this.#positions)])
    this.#processor.init?.(this.#context)
    this.#state = 'running'
  }

  /** Loads eager stores whole; keyed stores load the keys each batch names (see readBatch). */
  async #loadStores(): Promise<void> {
    for (const [name, store] of this.#stores) {
      if (store instanceof InMemoryKeyValueStore)
        store.load(await this.#options.backend.loadStore(this.id, name))
      else if (store instanceof KeyedKeyValueStore) store.forget()
    }
  }

  close(): void {
    if (this.#state === 'closed') return
    if (this.#state !== 'new') this.#processor.close?.()
    this.#state = 'closed'
  }

  /**
   * Processes `records` (in partition order; records before the committed position are skipped as
   * already applied) and commits them. Throws `FencedError` if another owner took the task, or the
   * backend's error if the commit failed for a transient reason — the batch then left no trace and
   * may be run again. `advance` moves a topic's position further, past offsets that hold nothing to
   * process (transaction markers, records deleted from the log), unless the batch stopped on a record.
   * When the backend refuses the batch's content (`CommitRejectedError`, a data error), retrying cannot
   * help: the batch is split in halves, each committed on its own, down to the record responsible,
   * which goes to the DLQ with the backend's cause while the rest commits.
   */
  async runBatch(records: readonly RawRecord[], advance?: ReadonlyMap<string, bigint>): Promise<BatchResult> {
    try {
      return await this.#runOnce(records, advance)
    } catch (error) {
      if (!(error instanceof CommitRejectedError)) throw error
      return this.#split(this.#unapplied(records), error, advance)
    }
  }

  /** Bisects a refused batch: log2(n) extra commits find the one record the backend cannot store. */
  async #split(
    records: readonly RawRecord[],
    error: CommitRejectedError,
    advance?: ReadonlyMap<string, bigint>,
  ): Promise<BatchResult> {
    if (records.length <= 1) return this.#runOnce(records, advance, error)
    const half = Math.ceil(records.length / 2)
    const first = await this.runBatch(records.slice(0, half))
    if (first.stoppedAt) return first
    return mergeResults(first, await this.runBatch(records.slice(half), advance))
  }

  /** The records at or past the committed position of their topic. */
  #unapplied(records: readonly RawRecord[]): RawRecord[] {
    return records.filter((raw) => {
      const position = this.#positions.get(raw.topic)
      if (position === undefined)
        throw new StreamsError('NOT_A_SOURCE', `task ${this.id.processor} does not read ${raw.topic}`)
      return raw.offset >= position
    })
  }

  /** One attempt: process and commit; with `rejected`, the records go to the DLQ with its cause instead. */
  async #runOnce(
    records: readonly RawRecord[],
    advance?: ReadonlyMap<string, bigint>,
    rejected?: CommitRejectedError,
  ): Promise<BatchResult> {
    if (this.#state !== 'running')
      throw new StreamsError(
        'TASK_NOT_RUNNING',
        `task ${this.id.processor}/${this.id.partition} is ${this.#state}`,
      )
    const start = new Map(this.#positions)
    const next = new Map(this.#positions)
    const result = emptyResult()
    this.#outputs = []
    this.#rows = []
    this.#applied.begin()
    try {
      const fresh = this.#unapplied(records)
      const parsed = rejected ? [] : fresh.map((raw) => this.#parse(raw))
      const lookups = rejected ? undefined : await readBatch(this.id, this.#options, this.#stores, parsed)
      if (lookups) this.#lookups = lookups
      for (let i = 0; i < fresh.length; i++) {
        const raw = fresh[i]!
        if (this.#applied.duplicate(raw)) {
          // A re-sent copy of a record already applied: commit past it, unprocessed.
          result.duplicates.push(raw.topic)
          next.set(raw.topic, raw.offset + 1n)
          continue
        }
        let failure = rejected
          ? this.#reject(raw, 'COMMIT_REJECTED', rejected.message)
          : this.#handle(raw, parsed[i]!)
        if (failure instanceof Promise) failure = await failure
        if (failure?.policy === 'stop') {
          result.stoppedAt = { topic: raw.topic, offset: raw.offset, error: failure.message }
          break
        }
        if (failure) {
          result.dlq++
          result.dead.push({ topic: raw.topic, code: failure.code })
        } else result.committed.push({ topic: raw.topic, timestamp: raw.timestamp })
        next.set(raw.topic, raw.offset + 1n)
        result.consumed++
        this.#applied.applied(raw)
      }
    } catch (error) {
      // Nothing of a batch that did not reach its commit may survive it, or a retry would apply it twice.
      for (const store of this.#stores.values()) store.rollback()
      this.#outputs = []
      this.#rows = []
      throw error
    }
    if (!result.stoppedAt) {
      for (const [topic, to] of advance ?? []) {
        const position = next.get(topic)
        if (position !== undefined && to > position) next.set(topic, to)
      }
    }
    result.outputs = this.#outputs.length - result.dlq
    const batch: BatchCommit = {
      task: this.id,
      epoch: this.#epoch,
      offsets: [...next]
        .filter(([t, o]) => o !== start.get(t))
        .map(([topic, o]) => ({ topic, expected: start.get(topic)!, next: o })),
      stores: [...this.#stores].map(([store, s]) => ({ store, changes: s.changes() })),
      outputs: this.#outputs,
      tables: groupRows(this.#rows),
      applied: this.#applied.commit(next),
    }
    let outcome: CommitOutcome | undefined
    try {
      if (batch.offsets.length > 0) outcome = await this.#options.backend.commit(batch)
    } catch (error) {
      for (const store of this.#stores.values()) store.rollback()
      if (error instanceof FencedError) this.#state = 'fenced'
      throw error
    } finally {
      this.#outputs = []
      this.#rows = []
      this.#lookups = new Map()
    }
    // What is stored is an earlier attempt's result, and this run may have decided differently (a
    // lookup or the clock moved in between): take the stores and the window as they were committed.
    if (outcome === CommitOutcomes.ALREADY_COMMITTED)
      await Promise.all([this.#loadStores(), this.#applied.load(next)])
    else {
      for (const store of this.#stores.values()) store.commit()
      this.#applied.committed(next)
    }
    for (const [topic, offset] of next) this.#positions.set(topic, offset)
    if (result.stoppedAt) {
      this.#state = 'stopped'
      this.#stopReason = `stopped at ${result.stoppedAt.topic}@${result.stoppedAt.offset}: ${result.stoppedAt.error}`
    }
    return result
  }

  /** Parses a record: a StreamRecord, or the RecordError that sends it to the DLQ. */
  #parse(raw: RawRecord): StreamRecord | RecordError {
    const { parse, keyOwned } = this.#parsers.get(raw.topic)!
    // An unknown count (a backend that gives none) checks nothing: ownership cannot be told.
    return parseRecord(raw, parse, keyOwned ? this.#options.partitions?.(raw.topic) : undefined)
  }

  /**
   * Processes one parsed record; returns the failure it was routed to, if any. Synchronous when the
   * processor is (every DSL processor is): an `await` per record cost a promise, an async frame and a
   * turn of the microtask queue each, about 7% of what the tasks' thread allocated in bench:orders.
   * Only a processor that returns a promise, or a retry, makes it asynchronous.
   */
  #handle(raw: RawRecord, record: StreamRecord | RecordError): MaybeFailure | Promise<MaybeFailure> {
    if (record instanceof RecordError) return this.#reject(raw, record.code, record.message)
    return this.#attempt(raw, record, 1)
  }

  #attempt(raw: RawRecord, record: StreamRecord, attempt: number): MaybeFailure | Promise<MaybeFailure> {
    const undo: Undo = {
      stores: this.#storeList.map((s) => s.mark()),
      outputs: this.#outputs.length,
      rows: this.#rows.length,
    }
    this.#current = record
    this.#emitted = 0
    let result: unknown
    try {
      result = this.#processor.process(record, this.#context)
    } catch (error) {
      this.#current = undefined
      return this.#failed(raw, record, attempt, undo, error)
    }
    if (!(result instanceof Promise)) return this.#processed(raw)
    return result.then(
      () => this.#processed(raw),
      (error: unknown) => {
        this.#current = undefined
        return this.#failed(raw, record, attempt, undo, error)
      },
    )
  }

  #processed(raw: RawRecord): undefined {
    this.#current = undefined
    this.#options.observer?.processed?.(raw.topic, 1)
    return undefined
  }

  /** Undoes the failed attempt's writes and emits (a record applies wholly or not at all), then retries or routes. */
  #failed(
    raw: RawRecord,
    record: StreamRecord,
    attempt: number,
    undo: Undo,
    error: unknown,
  ): MaybeFailure | Promise<MaybeFailure> {
    const { observer, processor } = this.#options
    for (const [i, store] of this.#storeList.entries()) store.undoTo(undo.stores[i]!)
    this.#outputs.length = undo.outputs
    this.#rows.length = undo.rows
    const message = error instanceof Error ? error.message : String(error)
    if (attempt < processor.maxAttempts) {
      observer?.retried?.(raw.topic)
      return Promise.resolve(this.#options.pause?.(attempt)).then(() =>
        this.#attempt(raw, record, attempt + 1),
      )
    }
    if (processor.onError === 'stop') return { policy: 'stop', code: 'PROCESSING_FAILED', message }
    return this.#reject(raw, 'PROCESSING_FAILED', message)
  }

  /** Sends a record to its topic's DLQ with the cause. */
  #reject(raw: RawRecord, code: RecordErrorCode, message: string): Failure {
    this.#outputs.push(deadLetter(this.#options.topology, raw, code, message))
    this.#options.observer?.dlq?.(raw.topic, code)
    return { policy: 'dlq', code, message }
  }
}
