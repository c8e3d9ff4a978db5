/**
 * One task: a processor on one partition (of each topic it reads). It turns a batch of raw records into
 * one atomic commit — parse, process in order against in-memory stores, collect outputs and DLQ
 * records, then hand everything with the next offsets to the backend. It does no I/O of its own, so
 * the Kafka runtime and the TopologyTestDriver run exactly the same code.
 */
import type { ErrorPolicy, KeyValueStore, Processor, ProcessorContext, TableRow } from '../api.ts'
import type { ProcessorNode, Topology } from '../builder.ts'
import { RecordError, type RecordErrorCode } from '../errors.ts'
import { type OutputRecord, type RawRecord, type RecordHeaders, StreamRecord } from '../record.ts'
import { InMemoryKeyValueStore } from '../stores/key-value.ts'
import {
  type BatchCommit,
  FencedError,
  type OutboxRecord,
  type StateBackend,
  type TaskId,
} from './backend.ts'
import { deadLetter, groupRows, Headers } from './outputs.ts'

export { Headers }

export type TaskState = 'new' | 'running' | 'stopped' | 'fenced' | 'closed'

export interface TaskObserver {
  processed?(topic: string, count: number): void
  dlq?(topic: string, code: RecordErrorCode): void
  retried?(topic: string): void
}

export interface TaskOptions {
  topology: Topology
  processor: ProcessorNode
  partition: number
  backend: StateBackend
  owner: string
  clock: () => number
  /** Wait between attempts of a record whose processing threw; the driver passes no wait. */
  pause?: (attempt: number) => Promise<void>
  observer?: TaskObserver
}

export interface BatchResult {
  /** Records consumed: processed, or rejected to the DLQ. */
  consumed: number
  dlq: number
  /** The committed records, per source topic, and the DLQ causes (for metrics). */
  committed: Array<{ topic: string; timestamp: number }>
  dead: Array<{ topic: string; code: RecordErrorCode }>
  outputs: number
  /** The partition stopped on a record (error policy "stop"); that record was not committed. */
  stoppedAt?: { topic: string; offset: bigint; error: string }
}

export class PartitionTask {
  readonly id: TaskId
  #state: TaskState = 'new'
  #epoch = -1
  #stopReason: string | undefined
  readonly #positions = new Map<string, bigint>()
  readonly #stores = new Map<string, InMemoryKeyValueStore<unknown>>()
  readonly #sinks: ReadonlyMap<string, string>
  readonly #parsers: ReadonlyMap<string, (value: Buffer | null, key: string | null) => unknown>
  readonly #processor: Processor<unknown>
  readonly #options: TaskOptions
  #outputs: OutboxRecord[] = []
  #rows: Array<{ table: string; row: TableRow }> = []
  #lookups = new Map<string, Map<string, unknown>>()
  readonly #tables: ReadonlySet<string>
  #current: StreamRecord | undefined
  readonly #context: ProcessorContext
  #emitted = 0

  constructor(options: TaskOptions) {
    this.#options = options
    const { topology, processor, partition } = options
    this.id = { applicationId: topology.applicationId, processor: processor.name, partition }
    this.#sinks = new Map(processor.sinks.map((s) => [s, topology.node('sink', s).topic]))
    this.#parsers = new Map(
      processor.sources.map((s) => {
        const source = topology.node('source', s)
        return [source.topic, source.parse]
      }),
    )
    for (const store of processor.stores) this.#stores.set(store, new InMemoryKeyValueStore(store))
    this.#tables = new Set(processor.tables)
    this.#processor = processor.supplier()
    this.#context = this.#createContext()
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

  /** Read access to a store, for tests and the driver. */
  store<V>(name: string): KeyValueStore<V> | undefined {
    return this.#stores.get(name) as KeyValueStore<V> | undefined
  }

  /** Claims the task (fencing earlier owners), loads its stores and starts the processor. */
  async open(fallback: ReadonlyMap<string, bigint>): Promise<void> {
    const { backend, owner } = this.#options
    const claim = await backend.claim(this.id, owner, fallback)
    this.#epoch = claim.epoch
    for (const [topic, offset] of claim.offsets) this.#positions.set(topic, offset)
    for (const [name, store] of this.#stores) {
      store.load((await backend.loadStore(this.id, name)) as Array<[string, unknown]>)
    }
    this.#processor.init?.(this.#context)
    this.#state = 'running'
  }

  close(): void {
    if (this.#state === 'closed') return
    if (this.#state !== 'new') this.#processor.close?.()
    this.#state = 'closed'
  }

  /**
   * Processes `records` (in partition order; records before the committed position are skipped as
   * already applied) and commits them. Throws `FencedError` if another owner took the task, or the
   * backend's error if the commit failed — the batch then left no trace and may be run again.
   * `advance` moves a topic's position further, past offsets that hold nothing to process (transaction
   * markers, records deleted from the log), unless the batch stopped on a record.
   */
  async runBatch(records: readonly RawRecord[], advance?: ReadonlyMap<string, bigint>): Promise<BatchResult> {
    if (this.#state !== 'running')
      throw new Error(`task ${this.id.processor}/${this.id.partition} is ${this.#state}`)
    const start = new Map(this.#positions)
    const next = new Map(this.#positions)
    const result: BatchResult = { consumed: 0, dlq: 0, outputs: 0, committed: [], dead: [] }
    this.#outputs = []
    this.#rows = []
    try {
      const fresh = records.filter((raw) => {
        const position = next.get(raw.topic)
        if (position === undefined) throw new Error(`task ${this.id.processor} does not read ${raw.topic}`)
        return raw.offset >= position
      })
      const parsed = fresh.map((raw) => this.#parse(raw))
      await this.#prefetch(parsed)
      for (const [i, raw] of fresh.entries()) {
        const failure = await this.#handle(raw, parsed[i]!)
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
    }
    try {
      if (batch.offsets.length > 0) await this.#options.backend.commit(batch)
    } catch (error) {
      for (const store of this.#stores.values()) store.rollback()
      if (error instanceof FencedError) this.#state = 'fenced'
      throw error
    } finally {
      this.#outputs = []
      this.#rows = []
      this.#lookups = new Map()
    }
    for (const store of this.#stores.values()) store.commit()
    for (const [topic, offset] of next) this.#positions.set(topic, offset)
    if (result.stoppedAt) {
      this.#state = 'stopped'
      this.#stopReason = `stopped at ${result.stoppedAt.topic}@${result.stoppedAt.offset}: ${result.stoppedAt.error}`
    }
    return result
  }

  /** Parses a record: a StreamRecord, or the RecordError that sends it to the DLQ. */
  #parse(raw: RawRecord): StreamRecord | RecordError {
    const key = raw.key === null ? null : raw.key.toString('utf8')
    try {
      const value = this.#parsers.get(raw.topic)!(raw.value, key)
      return new StreamRecord({ ...raw, key, value })
    } catch (error) {
      return error instanceof RecordError ? error : new RecordError('VALIDATION_FAILED', String(error))
    }
  }

  /** Fetches every lookup key the batch's records name, in one request per lookup. */
  async #prefetch(parsed: Array<StreamRecord | RecordError>): Promise<void> {
    const { processor, backend } = this.#options
    this.#lookups = new Map()
    for (const { name, keys } of processor.lookups) {
      const wanted = new Set<string>()
      for (const record of parsed) {
        if (record instanceof RecordError) continue
        const k = keys(record.value)
        if (typeof k === 'string') wanted.add(k)
        else if (k) for (const one of k) wanted.add(one)
      }
      if (!backend.lookup) throw new Error(`the state backend cannot serve lookup "${name}"`)
      this.#lookups.set(name, wanted.size > 0 ? await backend.lookup(name, [...wanted]) : new Map())
    }
  }

  /** Processes one parsed record; returns the failure it was routed to, if any. */
  async #handle(
    raw: RawRecord,
    record: StreamRecord | RecordError,
  ): Promise<{ policy: ErrorPolicy; code: RecordErrorCode; message: string } | undefined> {
    const { observer, processor } = this.#options
    if (record instanceof RecordError) {
      this.#deadLetter(raw, record.code, record.message)
      observer?.dlq?.(raw.topic, record.code)
      return { policy: 'dlq', code: record.code, message: record.message }
    }
    for (let attempt = 1; ; attempt++) {
      const marks = [...this.#stores.values()].map((s) => [s, s.mark()] as const)
      const outputMark = this.#outputs.length
      const rowMark = this.#rows.length
      this.#current = record
      this.#emitted = 0
      try {
        await this.#processor.process(record, this.#context)
      } catch (error) {
        // Undo the failed attempt's writes and emits: a record applies wholly or not at all.
        for (const [store, mark] of marks) store.undoTo(mark)
        this.#outputs.length = outputMark
        this.#rows.length = rowMark
        const message = error instanceof Error ? error.message : String(error)
        if (attempt < processor.maxAttempts) {
          observer?.retried?.(raw.topic)
          await this.#options.pause?.(attempt)
          continue
        }
        if (processor.onError === 'stop') return { policy: 'stop', code: 'PROCESSING_FAILED', message }
        this.#deadLetter(raw, 'PROCESSING_FAILED', message)
        observer?.dlq?.(raw.topic, 'PROCESSING_FAILED')
        return { policy: 'dlq', code: 'PROCESSING_FAILED', message }
      } finally {
        this.#current = undefined
      }
      observer?.processed?.(raw.topic, 1)
      return undefined
    }
  }

  #deadLetter(raw: RawRecord, code: RecordErrorCode, message: string): void {
    this.#outputs.push(deadLetter(this.id.applicationId, raw, code, message))
  }

  #createContext(): ProcessorContext {
    return {
      applicationId: this.id.applicationId,
      partition: this.id.partition,
      now: () => this.#options.clock(),
      store: <S>(name: string): S => {
        const store = this.#stores.get(name)
        if (!store) throw new Error(`processor "${this.id.processor}" did not declare store "${name}"`)
        return store as S
      },
      lookup: <V>(name: string) => {
        const data = this.#lookups.get(name)
        if (!data) throw new Error(`processor "${this.id.processor}" did not declare lookup "${name}"`)
        return { get: (key: string) => data.get(key) as V | undefined }
      },
      write: (table: string, row: TableRow): void => {
        if (!this.#tables.has(table))
          throw new Error(`processor "${this.id.processor}" did not declare table "${table}"`)
        if (!this.#current) throw new Error('write() is only allowed while a record is processed')
        this.#rows.push({ table, row: Object.freeze({ ...row }) })
      },
      emit: (sink: string, output: OutputRecord): void => {
        const topic = this.#sinks.get(sink)
        if (!topic) throw new Error(`processor "${this.id.processor}" did not declare sink "${sink}"`)
        const source = this.#current
        if (!source) throw new Error('emit() is only allowed while a record is processed')
        const headers: RecordHeaders = {
          ...output.headers,
          [Headers.OUTPUT_ID]: `${this.id.applicationId}/${source.topic}/${source.partition}/${source.offset}/${this.#emitted++}`,
        }
        this.#outputs.push({
          topic,
          key: output.key,
          value: Buffer.from(JSON.stringify(output.value)),
          headers,
        })
      },
    }
  }
}
