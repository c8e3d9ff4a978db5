/**
 * The library's own tables (kysely types), one interface per table, named as in SQL: offsets, task
 * ownership, stores, the outbox and what the relay set aside. An application's database type extends
 * `StreamsDatabase` with its own tables.
 */
import type { ColumnType, Generated } from 'kysely'

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

/** The next offset to read for each partition an application consumes: the source of truth, not Kafka. */
export interface StreamOffsetsTable {
  application_id: string
  topic: string
  partition: number
  // bigint comes back from pg as a string; we keep it a string and convert at the edge.
  next_offset: ColumnType<string, string | bigint, string | bigint>
  updated_at: Timestamp
}

/** Who owns each task (processor × partition), and the epoch that fences earlier owners. */
export interface StreamTasksTable {
  application_id: string
  processor: string
  partition: number
  epoch: number
  owner: string
  claimed_at: Timestamp
}

/** The partition count of each source topic when the application first ran on it. */
export interface StreamSourcePartitionsTable {
  application_id: string
  topic: string
  partitions: number
  recorded_at: Timestamp
}

/**
 * Output ids (sha256) each task applied, within its de-duplication window: one row per batch and
 * source topic (applied-batches.ts), the digests and their offsets each concatenated.
 */
export interface StreamAppliedBatchesTable {
  application_id: string
  processor: string
  partition: number
  topic: string
  /** The offset of the row's last id: the row goes once it left the window. */
  last_offset: ColumnType<string, string | bigint, string | bigint>
  /** 32 bytes per id. */
  digests: Buffer
  /** 8 bytes (big-endian) per id, in the order of `digests`. */
  offsets: Buffer
}

/** Partition-local key-value stores. */
export interface StoreEntriesTable {
  application_id: string
  store: string
  partition: number
  key: string
  value: ColumnType<unknown, string, string>
}

/** Records emitted by a committed batch, waiting for the relay to publish them to Kafka. Bytes, exactly. */
export interface OutboxTable {
  id: Generated<string>
  topic: string
  key: Buffer | null
  value: Buffer
  /** topology/runtime/header-codec.ts's encoding. */
  headers: ColumnType<Buffer, Buffer | undefined, Buffer>
  created_at: Timestamp
}

/** A task's committed outputs, one row per batch (outbox-batch-codec.ts); `published` of them are sent. */
export interface OutboxBatchesTable {
  id: Generated<string>
  records: Buffer
  record_count: number
  published: ColumnType<number, number | undefined, number>
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** Outbox rows the broker can never take, moved aside by the relay for an operator to inspect and replay. */
export interface OutboxRejectedTable {
  id: string
  topic: string
  key: Buffer | null
  value: Buffer
  headers: Buffer
  created_at: Timestamp
  rejected_at: Timestamp
  /** The Kafka error code (e.g. MESSAGE_TOO_LARGE), or the relay's own verdict. */
  reason: string
  cause: string
}

export interface StreamsDatabase {
  stream_offsets: StreamOffsetsTable
  stream_tasks: StreamTasksTable
  stream_source_partitions: StreamSourcePartitionsTable
  stream_applied_batches: StreamAppliedBatchesTable
  store_entries: StoreEntriesTable
  outbox: OutboxTable
  outbox_batches: OutboxBatchesTable
  outbox_rejected: OutboxRejectedTable
}
