/** kysely table types; one interface per table, named as in SQL. */
import type { ColumnType, Generated } from 'kysely'
import type { RejectReason } from '../processors/coupon-issuer.ts'
import type { StreamsDatabase, Timestamp } from '../topology/postgres/schema.ts'

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
  reason: RejectReason | null
  user_coupon_id: ColumnType<string | null, string | number | null | undefined, string | number | null>
  requested_at: Timestamp
  decided_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** The shop's database: the stream library's tables and the shop's own. */
export interface Database extends StreamsDatabase {
  users: UsersTable
  coupons: CouponsTable
  user_coupons: UserCouponsTable
  coupon_issue_requests: CouponIssueRequestsTable
}
