import type { KeyValueStore, TableRow } from '../api.ts'
import type { ProcessorNode, Topology } from '../builder.ts'
import { StreamsError, TopologyError } from '../errors.ts'
import type { TaskId } from '../runtime/backend.ts'
import { InputLog } from './input-log.ts'
import { MemoryBackend } from './memory-backend.ts'
import { type DriverConfig, driverConfig, type TestDriverOptions } from './options.ts'
import { OutputLog, toDlqRecord, toOutput } from './output-log.ts'
import { KeyPartitioner } from './partitioner.ts'
import { TaskPool } from './task-pool.ts'
import type { PipeOptions, ProcessSummary, StoppedTask, TestDlqRecord, TestOutput } from './types.ts'

export type { PipeOptions, ProcessSummary, StoppedTask, TestDlqRecord, TestDriverOptions, TestOutput }

/**
 * Runs a Topology with no broker and no database: the same `PartitionTask` code as the Kafka runtime,
 * over in-memory topics and a `MemoryBackend`, on a clock that only `advanceTime` moves.
 *
 * @example
 * const topology = new TopologyBuilder('demo')
 *   .source('orders', { topic: 'orders', parse: jsonValue<{ qty: number }>() })
 *   .store('totals')
 *   .sink('out', { topic: 'totals' })
 *   .processor<{ qty: number }>('sum', {
 *     sources: ['orders'],
 *     stores: ['totals'],
 *     sinks: ['out'],
 *     supplier: () => ({
 *       process(record, context) {
 *         const totals = context.store<KeyValueStore<number>>('totals')
 *         const total = (totals.get(record.key!) ?? 0) + record.value.qty
 *         totals.put(record.key!, total)
 *         context.emit('out', { key: record.key, value: { total } })
 *       },
 *     }),
 *   })
 *   .build()
 * const driver = new TopologyTestDriver(topology, { partitions: 3 })
 * driver.pipe('orders', 'user-1', { qty: 2 })
 * driver.pipe('orders', 'user-1', { qty: 3 })
 * await driver.process()
 * driver.output('totals').map((r) => [r.partition, r.value]) // [[2, { total: 2 }], [2, { total: 5 }]]
 * driver.store<number>('totals', 2).get('user-1') // 5
 * driver.restart() // a crash between batches: tasks reopen from the committed state
 * driver.close()
 */
export class TopologyTestDriver {
  readonly #topology: Topology
  readonly #config: DriverConfig
  readonly #backend = new MemoryBackend()
  readonly #input = new InputLog()
  readonly #partitioner: KeyPartitioner
  readonly #outputs: OutputLog
  readonly #tasks: TaskPool
  readonly #injected = new Error('injected commit failure (TopologyTestDriver.failNextCommits)')
  #now: number
  #closed = false

  constructor(topology: Topology, options: TestDriverOptions = {}) {
    this.#topology = topology
    this.#config = driverConfig(topology, options)
    this.#now = this.#config.startTime
    this.#partitioner = new KeyPartitioner(this.#config.partitions)
    this.#outputs = new OutputLog((topic, key) => this.#partitioner.partition(topic, key))
    const { owner } = this.#config
    const clock = () => this.#now
    this.#tasks = new TaskPool({
      topology,
      backend: this.#backend,
      owner,
      clock,
      partitions: this.#config.partitions,
      retryOn: this.#injected,
    })
  }

  /** Sets reference data a lookup serves (undefined removes it), as its owner — e.g. the API — would. */
  setLookup(name: string, key: string, value: unknown): void {
    this.#checkOpen()
    if (!this.#topology.nodes.some((n) => n.kind === 'lookup' && n.name === name))
      throw new StreamsError('DRIVER_MISUSE', `no lookup ${name}`)
    this.#backend.setLookup(name, key, value)
  }

  /**
   * Makes a lookup follow a table the topology writes: each committed row of `table` sets the entry
   * `entry(row)` returns (or none), as a lookup reading committed rows from PostgreSQL would — e.g.
   * an order's status, written by one processor, read by another.
   */
  feedLookup(table: string, lookup: string, entry: (row: TableRow) => [string, unknown] | undefined): void {
    this.#checkOpen()
    for (const [kind, name] of [
      ['table', table],
      ['lookup', lookup],
    ] as const)
      if (!this.#topology.nodes.some((n) => n.kind === kind && n.name === name))
        throw new StreamsError('DRIVER_MISUSE', `no ${kind} ${name}`)
    this.#backend.feedLookup(table, lookup, entry)
  }

  /**
   * How many output ids a task holds in memory to skip re-sent copies (its de-duplication window); 0
   * for a task not open (none yet, or since `restart()`: it loads its window when it next runs).
   */
  rememberedIds(processor: string, partition: number): number {
    return this.#tasks.get(this.#topology.node('processor', processor), partition)?.rememberedIds ?? 0
  }

  /** Every row committed to a table so far, in commit order. */
  table<R = Record<string, unknown>>(name: string): readonly R[] {
    return this.#backend.tableRows(name) as readonly R[]
  }

  /** Appends a record with a JSON value to a source topic; it waits for `process()`. */
  pipe(topic: string, key: string | null, value: unknown, options: PipeOptions = {}): void {
    this.pipeRaw(topic, key, Buffer.from(JSON.stringify(value)), options)
  }

  /** Appends a record with exactly these bytes (e.g. a poison record, a key that is not UTF-8) to a source topic. */
  pipeRaw(topic: string, key: string | Buffer | null, value: Buffer | null, options: PipeOptions = {}): void {
    this.#checkOpen()
    if (!this.#topology.topics().inputs.includes(topic))
      throw new StreamsError('DRIVER_MISUSE', `no source reads ${topic}`)
    const partition = options.partition ?? this.#partitioner.partition(topic, key)
    this.#config.checkPartition(topic, partition)
    const { timestamp = this.#now, headers } = options
    const bytes = { key: key === null ? null : Buffer.from(key), value: value && Buffer.from(value) }
    this.#input.append({ topic, partition, ...bytes, timestamp, headers })
  }

  /**
   * Runs every pending record through its task, `batchSize` records per commit, processor by processor
   * in partition order, until nothing is pending (outputs to a topic the topology reads are fed back).
   * A task reading several topics receives their records in the order they were piped.
   */
  async process(): Promise<ProcessSummary> {
    this.#checkOpen()
    const summary: ProcessSummary = {
      batches: 0,
      consumed: 0,
      dlq: 0,
      outputs: 0,
      duplicates: 0,
      commitRetries: 0,
    }
    for (let progressed = true; progressed; ) {
      progressed = false
      for (const processor of this.#topology.processors) {
        const partitions = this.#config.partitions(this.#topology.sourceTopics(processor)[0]!)
        for (let partition = 0; partition < partitions; partition++) {
          while (await this.#runBatch(processor, partition, summary)) progressed = true
        }
      }
    }
    return summary
  }

  /** Moves the clock that `context.now()` reads and that timestamps piped records by default. */
  advanceTime(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advanceTime: ${ms} is not a duration`)
    this.#now += ms
  }

  /** Records published to a sink topic since the last `output` of it, values JSON-parsed. */
  output<V = unknown>(topic: string): TestOutput<V>[] {
    return this.#outputs.read(this.#sinkTopic(topic)).map((r) => toOutput<V>(r))
  }

  /** Every record published to a sink topic, without moving `output`'s cursor. */
  allOutputs<V = unknown>(topic: string): TestOutput<V>[] {
    return this.#outputs.all(this.#sinkTopic(topic)).map((r) => toOutput<V>(r))
  }

  /** Records sent to `<sourceTopic>.dlq` since the last `dlq` of it: original bytes, error headers. */
  dlq(sourceTopic: string): TestDlqRecord[] {
    return this.#outputs.read(`${sourceTopic}.dlq`).map(toDlqRecord)
  }

  /** Every record sent to `<sourceTopic>.dlq`, without moving `dlq`'s cursor. */
  allDlq(sourceTopic: string): TestDlqRecord[] {
    return this.#outputs.all(`${sourceTopic}.dlq`).map(toDlqRecord)
  }

  /** A read-only view of the committed state of a store on one partition. */
  store<V = unknown>(storeName: string, partition: number): KeyValueStore<V> {
    const owner = this.#topology.processors.find((p) => p.stores.includes(storeName))
    if (!owner) throw new TopologyError([`no store named "${storeName}"`])
    this.#config.checkPartition(this.#topology.sourceTopics(owner)[0]!, partition)
    return this.#backend.storeView<V>(this.#taskId(owner, partition), storeName)
  }

  /** Tasks the 'stop' error policy stopped; they stay stopped until `restart()`. */
  stoppedTasks(): StoppedTask[] {
    return this.#tasks.stopped()
  }

  /** The next `count` commits fail and leave no trace; `process()` rolls back and runs the batch again. */
  failNextCommits(count: number): void {
    this.#backend.failNextCommits(count, this.#injected)
  }

  /** A crash and restart between batches: tasks and their memory go; committed state and input stay. */
  restart(): void {
    this.#tasks.closeAll()
  }

  close(): void {
    this.restart()
    this.#closed = true
  }

  /** Runs one batch of a task, if it has pending records and is not stopped; returns whether it ran. */
  async #runBatch(processor: ProcessorNode, partition: number, summary: ProcessSummary): Promise<boolean> {
    const topics = this.#topology.sourceTopics(processor)
    let task = this.#tasks.get(processor, partition)
    if (!task) {
      // Open lazily: a partition that never had input gets no task (and no claim).
      const committed = this.#backend.offsets(this.#taskId(processor, partition))
      if (this.#input.pending(topics, partition, committed, 1).length === 0) return false
      task = await this.#tasks.open(processor, partition)
    }
    if (task.state === 'stopped') return false
    const batch = this.#input.pending(topics, partition, task.positions, this.#config.batchSize)
    if (batch.length === 0) return false
    await this.#tasks.run(task, batch, summary)
    // The relay: committed outputs are published, and those to a topic the topology reads are fed back.
    const inputs = this.#topology.topics().inputs
    for (const r of this.#outputs.relay(this.#backend.outbox)) {
      const key = r.key === null ? null : Buffer.from(r.key)
      if (inputs.includes(r.topic)) this.#input.append({ ...r, key, timestamp: this.#now })
    }
    return true
  }

  #taskId(processor: ProcessorNode, partition: number): TaskId {
    return { applicationId: this.#topology.applicationId, processor: processor.name, partition }
  }

  #sinkTopic(topic: string): string {
    if (topic.endsWith('.dlq'))
      throw new StreamsError('DRIVER_MISUSE', `${topic} holds raw bytes: read it with dlq(sourceTopic)`)
    return topic
  }

  #checkOpen(): void {
    if (this.#closed) throw new StreamsError('DRIVER_MISUSE', 'the TopologyTestDriver is closed')
  }
}
