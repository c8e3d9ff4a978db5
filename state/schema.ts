/** kysely table types; one interface per table, named as in SQL. */
import type { ColumnType, Generated } from 'kysely'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

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

/** Partition-local key-value stores. */
export interface StoreEntriesTable {
  application_id: string
  store: string
  partition: number
  key: string
  value: ColumnType<unknown, string, string>
}

/** Records emitted by a committed batch, waiting for the relay to publish them to Kafka. */
export interface OutboxTable {
  id: Generated<string>
  topic: string
  key: string | null
  value: Buffer
  headers: ColumnType<Record<string, string>, string, string>
  created_at: Timestamp
}

export interface Database {
  stream_offsets: StreamOffsetsTable
  stream_tasks: StreamTasksTable
  store_entries: StoreEntriesTable
  outbox: OutboxTable
}
