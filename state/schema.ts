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

/** The partition count of each source topic when the application first ran on it. */
export interface StreamSourcePartitionsTable {
  application_id: string
  topic: string
  partitions: number
  recorded_at: Timestamp
}

/** Output ids (sha256) each task applied, within its de-duplication window. */
export interface StreamAppliedIdsTable {
  application_id: string
  processor: string
  partition: number
  digest: Buffer
  topic: string
  record_offset: ColumnType<string, string | bigint, string | bigint>
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

/** bigint columns: pg returns strings; ids stay below 2^53, so repositories convert with Number(). */
type BigintColumn = ColumnType<string, string | number | bigint, string | number | bigint>

export interface UsersTable {
  id: Generated<string>
  name: string
  points: BigintColumn
  created_at: Timestamp
}

export interface CouponsTable {
  id: Generated<string>
  name: string
  discount_type: 'RATE' | 'AMOUNT'
  discount_value: number
  total_quantity: number
  issued_quantity: ColumnType<number, number | undefined, number>
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  min_order_amount: ColumnType<string | null, number | string | null | undefined, number | string | null>
  created_at: Timestamp
}

export interface UserCouponsTable {
  id: BigintColumn
  user_id: BigintColumn
  coupon_id: BigintColumn
  used: ColumnType<boolean, boolean | undefined, boolean>
  issued_at: ColumnType<Date, Date | string, Date | string>
  used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export interface CouponIssueRequestsTable {
  request_id: string
  coupon_id: BigintColumn
  user_id: BigintColumn
  status: 'PENDING' | 'ISSUED' | 'REJECTED'
  reason: string | null
  user_coupon_id: ColumnType<string | null, string | number | null | undefined, string | number | null>
  requested_at: Timestamp
  decided_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

export interface Database {
  stream_offsets: StreamOffsetsTable
  stream_tasks: StreamTasksTable
  stream_source_partitions: StreamSourcePartitionsTable
  stream_applied_ids: StreamAppliedIdsTable
  store_entries: StoreEntriesTable
  outbox: OutboxTable
  outbox_rejected: OutboxRejectedTable
  users: UsersTable
  coupons: CouponsTable
  user_coupons: UserCouponsTable
  coupon_issue_requests: CouponIssueRequestsTable
}
