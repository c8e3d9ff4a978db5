/**
 * A StateBackend in memory, for the TopologyTestDriver and unit tests: the same contract as the
 * PostgreSQL backend (epoch fencing on claim, one atomic compare-and-set commit of offsets, store
 * changes and outbox records) with Maps instead of tables. Values are deep-copied on the way in and
 * out, as a database would, so neither a processor nor a test can mutate committed state by reference.
 */
import type { KeyValueStore, TableRow } from '../api.ts'
import {
  type AppliedId,
  type BatchCommit,
  type Claim,
  type CommitOutcome,
  CommitOutcomes,
  CommitRejectedError,
  FencedError,
  type OutboxRecord,
  type StateBackend,
  type TaskId,
} from '../runtime/backend.ts'
import { describeProblem, findUnstorable } from '../storable.ts'

interface AppliedRow {
  readonly topic: string
  readonly lastOffset: bigint
  readonly ids: readonly AppliedId[]
}

const taskKey = (t: TaskId) => `${t.applicationId}\u0000${t.processor}\u0000${t.partition}`
const storeKey = (t: TaskId, store: string) => `${taskKey(t)}\u0000${store}`

export class MemoryBackend implements StateBackend {
  readonly #epochs = new Map<string, number>()
  readonly #offsets = new Map<string, Map<string, bigint>>()
  readonly #stores = new Map<string, Map<string, unknown>>()
  readonly #outbox: OutboxRecord[] = []
  readonly #lookups = new Map<string, Map<string, unknown>>()
  readonly #tables = new Map<string, TableRow[]>()
  readonly #feeds = new Map<
    string,
    Array<{ lookup: string; entry: (row: TableRow) => [string, unknown] | undefined }>
  >()
  readonly #failures: Error[] = []
  readonly #partitionCounts = new Map<string, number>()
  /**
   * Per task: the output ids it applied, one row per batch and topic as PostgreSQL keeps them
   * (stream_applied_batches), so a row outlives its first ids by up to a batch.
   */
  readonly #applied = new Map<string, AppliedRow[]>()
  #commits = 0

  async claim(task: TaskId, _owner: string, fallback: ReadonlyMap<string, bigint>): Promise<Claim> {
    const key = taskKey(task)
    const epoch = (this.#epochs.get(key) ?? 0) + 1
    this.#epochs.set(key, epoch)
    const offsets = this.#offsets.get(key) ?? new Map<string, bigint>()
    for (const [topic, offset] of fallback) if (!offsets.has(topic)) offsets.set(topic, offset)
    this.#offsets.set(key, offsets)
    return { epoch, offsets: new Map(offsets) }
  }

  async sourcePartitions(
    applicationId: string,
    counts: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    const stored = new Map<string, number>()
    for (const [topic, count] of counts) {
      const key = `${applicationId}\u0000${topic}`
      if (!this.#partitionCounts.has(key)) this.#partitionCounts.set(key, count)
      stored.set(topic, this.#partitionCounts.get(key)!)
    }
    return stored
  }

  async lookup(name: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const data = this.#lookups.get(name) ?? new Map<string, unknown>()
    return new Map(keys.flatMap((k) => (data.has(k) ? [[k, structuredClone(data.get(k))] as const] : [])))
  }

  /** Sets (or, with undefined, removes) a lookup's entry, as the reference data's owner would. */
  setLookup(name: string, key: string, value: unknown): void {
    const data = this.#lookups.get(name) ?? new Map<string, unknown>()
    this.#lookups.set(name, data)
    if (value === undefined) data.delete(key)
    else data.set(key, structuredClone(value))
  }

  /**
   * From now on, each row committed to `table` sets the lookup entry `entry(row)` gives (if any), as a
   * PostgreSQL lookup reading the rows a processor commits would see them in the next batch.
   */
  feedLookup(table: string, lookup: string, entry: (row: TableRow) => [string, unknown] | undefined): void {
    const feeds = this.#feeds.get(table) ?? []
    feeds.push({ lookup, entry })
    this.#feeds.set(table, feeds)
  }

  /** Every row committed to a table, in commit order. */
  tableRows(table: string): readonly TableRow[] {
    return this.#tables.get(table) ?? []
  }

  async loadStore(task: TaskId, store: string): Promise<Array<[string, unknown]>> {
    return [...(this.#stores.get(storeKey(task, store)) ?? [])].map(([k, v]) => [k, structuredClone(v)])
  }

  async loadKeys(task: TaskId, store: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const entries = this.#stores.get(storeKey(task, store)) ?? new Map<string, unknown>()
    return new Map(
      keys.flatMap((k) => (entries.has(k) ? [[k, structuredClone(entries.get(k))] as const] : [])),
    )
  }

  async loadAppliedIds(task: TaskId, since: ReadonlyMap<string, bigint>): Promise<AppliedId[]> {
    const rows = (this.#applied.get(taskKey(task)) ?? []).filter(
      (r) => since.has(r.topic) && r.lastOffset >= since.get(r.topic)!,
    )
    return rows.flatMap((r) => r.ids.filter((id) => id.offset >= since.get(r.topic)!))
  }

  async commit(batch: BatchCommit): Promise<CommitOutcome> {
    const failure = this.#failures.shift()
    if (failure) throw failure
    const key = taskKey(batch.task)
    const epoch = this.#epochs.get(key)
    if (epoch !== batch.epoch) throw new FencedError(batch.task, `epoch ${batch.epoch}, current ${epoch}`)
    const offsets = this.#offsets.get(key)!
    for (const { topic, expected } of batch.offsets) {
      const stored = offsets.get(topic)
      if (stored !== expected)
        throw new FencedError(batch.task, `${topic} is at ${stored}, expected ${expected}`)
    }
    // Refuse what PostgreSQL would refuse (a NUL or lone surrogate in a key, value or row), so a driver
    // test sees the same batch split and COMMIT_REJECTED dead letter as the real backend gives.
    const unstorable = findUnstorable(
      [
        batch.stores.map(({ changes }) => [changes.puts, changes.deletes]),
        (batch.tables ?? []).map(({ rows }) => rows),
      ],
      { maxDepth: Number.POSITIVE_INFINITY },
    )
    if (unstorable) throw new CommitRejectedError(batch.task, describeProblem(unstorable))
    // Copy everything before applying anything: a value structuredClone rejects must change nothing.
    const stores = batch.stores.map(({ store, changes }) => ({
      store,
      deletes: [...changes.deletes],
      puts: changes.puts.map(([k, v]) => [k, structuredClone(v)] as const),
    }))
    const tables = (batch.tables ?? []).map(({ table, rows }) => ({
      table,
      rows: rows.map((r) => Object.freeze(structuredClone(r))),
    }))
    const outputs = batch.outputs.map((o) =>
      Object.freeze({
        ...o,
        key: o.key === null ? null : Buffer.from(o.key),
        value: Buffer.from(o.value),
        headers: Object.freeze({ ...o.headers }),
      }),
    )
    for (const { topic, next } of batch.offsets) offsets.set(topic, next)
    for (const { store, deletes, puts } of stores) {
      const entries = this.#entries(batch.task, store)
      for (const k of deletes) entries.delete(k)
      for (const [k, v] of puts) entries.set(k, v)
    }
    this.#outbox.push(...outputs)
    this.#remember(key, batch)
    for (const { table, rows } of tables) {
      const list = this.#tables.get(table) ?? []
      list.push(...rows)
      this.#tables.set(table, list)
      for (const { lookup, entry } of this.#feeds.get(table) ?? [])
        for (const row of rows) {
          const fed = entry(row)
          if (fed) this.setLookup(lookup, fed[0], fed[1])
        }
    }
    this.#commits++
    return CommitOutcomes.COMMITTED
  }

  /** The next `count` commits throw `error` before changing anything, as a lost database would. */
  failNextCommits(count: number, error: Error = new Error('injected commit failure')): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer`)
    for (let i = 0; i < count; i++) this.#failures.push(error)
  }

  /** Every committed outbox record, in commit order. */
  get outbox(): readonly OutboxRecord[] {
    return this.#outbox
  }

  /** Successful commits so far. */
  get commits(): number {
    return this.#commits
  }

  /** The task's current epoch: undefined until claimed. */
  epoch(task: TaskId): number | undefined {
    return this.#epochs.get(taskKey(task))
  }

  /** The task's committed next offset per source topic. */
  offsets(task: TaskId): ReadonlyMap<string, bigint> {
    return new Map(this.#offsets.get(taskKey(task)))
  }

  /** A live, read-only view of a store's committed state; reads return copies. */
  storeView<V>(task: TaskId, store: string): KeyValueStore<V> {
    const committed = () => this.#entries(task, store) as Map<string, V>
    const readOnly = () => {
      throw new TypeError(`store "${store}" of ${task.processor}/${task.partition}: this view is read-only`)
    }
    return {
      get: (key) => structuredClone(committed().get(key)),
      has: (key) => committed().has(key),
      put: readOnly,
      delete: readOnly,
      *entries() {
        for (const [k, v] of committed()) yield [k, structuredClone(v)]
      },
      get size() {
        return committed().size
      },
    }
  }

  #remember(key: string, batch: BatchCommit): void {
    if (!batch.applied) return
    const { ids, forget } = batch.applied
    const starts = new Map(forget.map((f) => [f.topic, f.before]))
    // As the commit statement does: a row goes once its last id left the window.
    let rows = (this.#applied.get(key) ?? []).filter((r) => r.lastOffset >= (starts.get(r.topic) ?? 0n))
    for (const topic of new Set(ids.map((id) => id.topic))) {
      const own = ids.filter((id) => id.topic === topic).map((id) => Object.freeze({ ...id }))
      const lastOffset = own.at(-1)!.offset
      rows = rows.filter((r) => r.topic !== topic || r.lastOffset !== lastOffset)
      rows.push({ topic, lastOffset, ids: own })
    }
    this.#applied.set(key, rows)
  }

  #entries(task: TaskId, store: string): Map<string, unknown> {
    const key = storeKey(task, store)
    let entries = this.#stores.get(key)
    if (!entries) {
      entries = new Map()
      this.#stores.set(key, entries)
    }
    return entries
  }
}
