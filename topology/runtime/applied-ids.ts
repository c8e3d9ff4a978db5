/**
 * Idempotent consumption: a task skips a record whose output id its partition already applied. The
 * outbox relay publishes at least once, so a processor reading another's output through a topic sees
 * re-sent copies; their output-id header (the same on every copy) tells them apart from new records.
 *
 * The window is bounded in offsets of the source partition, and persisted in the batch's own commit,
 * so what it remembers is exactly as durable as the state it guards. A batch asks the backend only for
 * the ids it carries; nothing is loaded whole when a task opens. Where the bound bites: a copy that
 * lands more than `window` offsets after its original is processed again (see DEFAULT_DEDUP_WINDOW).
 */
import { createHash } from 'node:crypto'
import type { ProcessorNode, Topology } from '../builder.ts'
import { TopologyError } from '../errors.ts'
import type { RawRecord } from '../record.ts'
import type { AppliedIdsCommit, StateBackend, TaskId } from './backend.ts'

/**
 * A digest, not the id itself: a header may hold anything (a NUL PostgreSQL's text refuses, a size its
 * index refuses), and a batch the backend refuses for an id would refuse its DLQ copy again.
 */
const digestOf = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex')

export class AppliedIds {
  /** Window per de-duplicated source topic of the task. */
  readonly #windows: ReadonlyMap<string, number>
  readonly #idHeader: string
  readonly #task: TaskId
  readonly #backend: StateBackend
  /** Digests of the current batch's ids that were applied before it. */
  #before = new Set<string>()
  /** Ids this batch applies, in order. */
  #applied: Array<{ digest: string; topic: string; offset: bigint }> = []
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
    if (windows.size > 0 && !backend.appliedIds)
      throw new TopologyError([
        `processor "${processor.name}": the state backend cannot de-duplicate its sources`,
      ])
    this.#windows = windows
    this.#idHeader = topology.outputIdHeader
    this.#task = task
    this.#backend = backend
  }

  /** The digest of a record's output id, when its topic is de-duplicated and it carries one. */
  #digest(raw: RawRecord): string | undefined {
    if (!this.#windows.has(raw.topic)) return undefined
    const id = raw.headers[this.#idHeader]
    return id === undefined ? undefined : digestOf(id)
  }

  /** Starts a batch: asks the backend, in one request, which of the records' ids were applied. */
  async load(records: readonly RawRecord[]): Promise<void> {
    this.#before = new Set()
    this.#applied = []
    this.#inBatch.clear()
    const digests = new Set(records.flatMap((r) => this.#digest(r) ?? []))
    if (digests.size > 0 && this.#backend.appliedIds)
      this.#before = await this.#backend.appliedIds(this.#task, [...digests])
  }

  /** Whether the record's output id was applied already, before this batch or earlier in it. */
  duplicate(raw: RawRecord): boolean {
    const digest = this.#digest(raw)
    return digest !== undefined && (this.#before.has(digest) || this.#inBatch.has(digest))
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
    const forget = [...this.#windows].flatMap(([topic, window]) => {
      const position = next.get(topic)
      return position === undefined ? [] : [{ topic, before: position - BigInt(window) }]
    })
    const starts = new Map(forget.map((f) => [f.topic, f.before]))
    const ids = this.#applied.filter((a) => a.offset >= (starts.get(a.topic) ?? 0n))
    return { ids, forget }
  }
}
