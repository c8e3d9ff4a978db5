/**
 * Idempotent consumption: a task skips a record whose output id its partition already applied. The
 * outbox relay publishes at least once, so a processor reading another's output through a topic sees
 * re-sent copies; their output-id header (the same on every copy) tells them apart from new records.
 *
 * The window is bounded in offsets of the source partition and persisted in the batch's own commit,
 * so what it remembers is exactly as durable as the state it guards. The task loads it once when it
 * opens (and again when a retry finds its batch had committed) and then decides in memory: no query
 * per batch. A batch's ids join it only once their commit succeeded. Where the bound bites: a copy
 * that lands more than `window` offsets after its original is processed again (DEFAULT_DEDUP_WINDOW).
 */
import { createHash } from 'node:crypto'
import type { ProcessorNode, Topology } from '../builder.ts'
import { TopologyError } from '../errors.ts'
import type { RawRecord } from '../record.ts'
import { AppliedWindow } from './applied-window.ts'
import type { AppliedId, AppliedIdsCommit, StateBackend, TaskId } from './backend.ts'

/**
 * A digest, not the id itself: a header may hold anything (a NUL PostgreSQL's text refuses, a size its
 * index refuses), and a batch the backend refuses for an id would refuse its DLQ copy again. Its 32
 * bytes as a 32-character string ('binary' is Node's name for latin1): half the memory of hex.
 */
const digestOf = (id: string) => createHash('sha256').update(id, 'utf8').digest('binary')

export class AppliedIds {
  /** Window per de-duplicated source topic of the task. */
  readonly #windows: ReadonlyMap<string, number>
  readonly #idHeader: string
  readonly #task: TaskId
  readonly #backend: StateBackend
  /** What the task committed, within the window. */
  #window = new AppliedWindow()
  /** Ids this batch applies, in order. */
  #applied: AppliedId[] = []
  readonly #inBatch = new Set<string>()

  constructor(
    task: TaskId,
    options: { topology: Topology; processor: ProcessorNode; backend: StateBackend },
  ) {
    const { topology, processor, backend } = options
    const windows = new Map<string, number>()
    for (const name of processor.sources) {
      const source = topology.node('source', name)
      const window = topology.deduplication(source)
      if (window !== undefined) windows.set(source.topic, window)
    }
    if (windows.size > 0 && !backend.loadAppliedIds)
      throw new TopologyError([
        `processor "${processor.name}": the state backend cannot de-duplicate its sources`,
      ])
    this.#windows = windows
    this.#idHeader = topology.outputIdHeader
    this.#task = task
    this.#backend = backend
  }

  /** How many ids the window holds now. */
  get size(): number {
    return this.#window.size
  }

  /**
   * Loads the window as committed, for the positions the task goes on from: when it opens, and when a
   * retry found that its batch had committed already (what is stored is that attempt's result).
   */
  async load(positions: ReadonlyMap<string, bigint>): Promise<void> {
    const starts = this.#starts(positions)
    const window = new AppliedWindow()
    if (starts.size > 0 && this.#backend.loadAppliedIds) {
      const ids = await this.#backend.loadAppliedIds(this.#task, starts)
      for (const { topic, digest, offset } of ids)
        if (offset >= (starts.get(topic) ?? 0n)) window.add(topic, digest, Number(offset))
    }
    this.#window = window
    this.begin()
  }

  /** The digest of a record's output id, when its topic is de-duplicated and it carries one. */
  #digest(raw: RawRecord): string | undefined {
    if (!this.#windows.has(raw.topic)) return undefined
    const id = raw.headers[this.#idHeader]
    return id === undefined ? undefined : digestOf(id)
  }

  /** Per de-duplicated topic with a position: the first offset of its window. */
  #starts(positions: ReadonlyMap<string, bigint>): Map<string, bigint> {
    const starts = new Map<string, bigint>()
    for (const [topic, window] of this.#windows) {
      const position = positions.get(topic)
      if (position !== undefined) starts.set(topic, position - BigInt(window))
    }
    return starts
  }

  /** Starts a batch: nothing of an earlier batch that did not commit is remembered. */
  begin(): void {
    this.#applied = []
    this.#inBatch.clear()
  }

  /** Whether the record's output id was applied already, before this batch or earlier in it. */
  duplicate(raw: RawRecord): boolean {
    const digest = this.#digest(raw)
    return digest !== undefined && (this.#window.has(digest) || this.#inBatch.has(digest))
  }

  /** Marks a record applied (processed or sent to the DLQ): a later copy of it is a duplicate. */
  applied(raw: RawRecord): void {
    const digest = this.#digest(raw)
    if (digest === undefined) return
    this.#inBatch.add(digest)
    this.#applied.push({ digest, topic: raw.topic, offset: raw.offset })
  }

  /**
   * The batch's part of the commit, given the next offsets it commits: the ids to remember (those
   * still inside the window) and, per de-duplicated topic, where the window now starts.
   */
  commit(next: ReadonlyMap<string, bigint>): AppliedIdsCommit | undefined {
    if (this.#windows.size === 0) return undefined
    const starts = this.#starts(next)
    const forget = [...starts].map(([topic, before]) => ({ topic, before }))
    const ids = this.#applied.filter((a) => a.offset >= (starts.get(a.topic) ?? 0n))
    return { ids, forget }
  }

  /** The batch committed: its ids join the window, and what left the window at `next` goes. */
  committed(next: ReadonlyMap<string, bigint>): void {
    for (const { topic, digest, offset } of this.#applied) this.#window.add(topic, digest, Number(offset))
    for (const [topic, start] of this.#starts(next)) this.#window.forget(topic, Number(start))
    this.begin()
  }
}
