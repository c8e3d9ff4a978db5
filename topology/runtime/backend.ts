/**
 * Where a task's durable state lives. The runtime uses PostgreSQL (topology/postgres/state-backend.ts); the
 * TopologyTestDriver uses memory. Either way one `commit` is atomic: store changes, emitted records and
 * the next offsets all land, or none do.
 */
import type { TableRow } from '../api.ts'
import type { RecordHeaders } from '../record.ts'
import type { StoreChanges } from '../stores/key-value.ts'

export interface TaskId {
  readonly applicationId: string
  readonly processor: string
  readonly partition: number
}

export const taskName = (t: TaskId) => `${t.processor}/${t.partition}`

export interface Claim {
  /** Fencing token: a commit made with an older epoch is refused. */
  readonly epoch: number
  /** Next offset to read, per source topic. */
  readonly offsets: ReadonlyMap<string, bigint>
}

/** A record ready to publish: bytes, exactly as they will be sent (a DLQ copy keeps the original key). */
export interface OutboxRecord {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer
  readonly headers: RecordHeaders
}

export interface BatchCommit {
  readonly task: TaskId
  readonly epoch: number
  /** Per source topic: the offset the batch started from (compare-and-set) and the next one. */
  readonly offsets: ReadonlyArray<{ topic: string; expected: bigint; next: bigint }>
  readonly stores: ReadonlyArray<{ store: string; changes: StoreChanges }>
  readonly outputs: readonly OutboxRecord[]
  /** Rows written to tables, per table, in the order the processor wrote them. */
  readonly tables?: ReadonlyArray<{ table: string; rows: readonly TableRow[] }>
  /** The output ids the batch applied, remembered with its state so a re-send is skipped. */
  readonly applied?: AppliedIdsCommit
}

/**
 * An output id a task applied: its sha256 digest (32 bytes as a latin1 string, whatever the header
 * held) with the source position of the record that carried it.
 */
export interface AppliedId {
  readonly digest: string
  readonly topic: string
  readonly offset: bigint
}

/** A batch's part of the de-duplication window: the ids it applied, in partition order. */
export interface AppliedIdsCommit {
  readonly ids: readonly AppliedId[]
  /** Per source topic: ids of records before this offset fell out of the window; forget them. */
  readonly forget: ReadonlyArray<{ topic: string; before: bigint }>
}

/**
 * How a commit ended. ALREADY_COMMITTED: this very batch had committed before (a retry after its reply
 * was lost); nothing was written again, and what is stored is that earlier attempt's result.
 */
export const CommitOutcomes = { COMMITTED: 'committed', ALREADY_COMMITTED: 'already-committed' } as const
export type CommitOutcome = (typeof CommitOutcomes)[keyof typeof CommitOutcomes]

export interface StateBackend {
  /**
   * Takes ownership of a task: bumps its epoch (fencing every earlier owner) and returns its stored
   * offsets, creating them from `fallback` (e.g. the earliest offset) where none are stored.
   */
  claim(task: TaskId, owner: string, fallback: ReadonlyMap<string, bigint>): Promise<Claim>
  /** Every entry of an eager store, when its task opens. */
  loadStore(task: TaskId, store: string): Promise<Array<[string, unknown]>>
  /** The entries of a keyed store with these keys, in one request; a key with no entry is absent. */
  loadKeys(task: TaskId, store: string, keys: readonly string[]): Promise<Map<string, unknown>>
  /**
   * The output ids the task applied (committed) at or after `since`'s offset of their topic, for the
   * topics `since` names, in offset order per topic: its de-duplication window, when it opens. Needed
   * by topologies with a de-duplicated source.
   */
  loadAppliedIds?(task: TaskId, since: ReadonlyMap<string, bigint>): Promise<AppliedId[]>
  /** Fetches reference data by key; keys with no data are absent. Needed by topologies with lookups. */
  lookup?(name: string, keys: readonly string[]): Promise<Map<string, unknown>>
  /**
   * Records each source topic's partition count where none is stored yet, and returns the stored ones
   * (per topic), so start-up can refuse a topic whose count changed under the state built on it.
   */
  sourcePartitions?(applicationId: string, counts: ReadonlyMap<string, number>): Promise<Map<string, number>>
  /**
   * Throws `FencedError` when the epoch or an offset moved: another owner took the task, and
   * `CommitRejectedError` when the batch's content cannot be stored (a data error): retrying the same
   * batch cannot succeed. Any other error is taken as transient and the batch is retried. A backend
   * that can lose a reply (a network between them) recognises a retry of a batch that did commit and
   * answers ALREADY_COMMITTED; one that cannot may answer nothing.
   */
  commit(batch: BatchCommit): Promise<CommitOutcome | undefined>
}

export class FencedError extends Error {
  constructor(task: TaskId, detail: string) {
    super(`task ${taskName(task)} was taken over by another owner (${detail}); it can no longer commit here`)
    this.name = 'FencedError'
  }
}

/**
 * The backend refused what the batch holds — a value the database cannot store, a constraint a row
 * breaks — as opposed to failing to reach it. The same batch would fail the same way for ever, so the
 * task splits it to find the record responsible and sends that record to the DLQ with this cause.
 */
export class CommitRejectedError extends Error {
  constructor(task: TaskId, detail: string, options?: { cause?: unknown }) {
    super(`the state backend refused task ${taskName(task)}'s batch: ${detail}`, options)
    this.name = 'CommitRejectedError'
  }
}
