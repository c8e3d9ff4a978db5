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
  /** The balance the user was created with; only charges and completed orders move `points` from it. */
  initial_points: ColumnType<string, string | number | undefined, never>
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
  /** The order that used it: a restore un-uses it only for that order. */
  order_id: NullableBigint
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

type NullableBigint = ColumnType<string | null, string | number | null | undefined, string | number | null>
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>

export interface ProductsTable {
  id: Generated<string>
  name: string
  description: string | null
  price: BigintColumn
  stock: number
  /** The stock the product was created with: `initial_stock = stock + quantity sold` (CONTRACT.md 2.8). */
  initial_stock: ColumnType<number, number | undefined, never>
  created_at: Timestamp
}

export interface CartItemsTable {
  user_id: BigintColumn
  product_id: BigintColumn
  quantity: number
  updated_at: Timestamp
}

export type OrderStatus = 'PENDING' | 'COMPLETED' | 'FAILED'

export interface OrdersTable {
  id: ColumnType<string, string | number | undefined, never>
  user_id: BigintColumn
  status: OrderStatus
  failure_reason: string | null
  saga_step: ColumnType<string, string | undefined, string>
  total_amount: BigintColumn
  discount_amount: BigintColumn
  final_amount: BigintColumn
  user_coupon_id: NullableBigint
  origin: 'API' | 'TOPIC'
  created_at: Timestamp
  completed_at: NullableTime
  failed_at: NullableTime
}

export interface OrderItemsTable {
  order_id: BigintColumn
  product_id: BigintColumn
  product_name: string
  price: BigintColumn
  quantity: number
}

export interface PointHistoryTable {
  id: Generated<string>
  event_id: string
  user_id: BigintColumn
  kind: 'CHARGE' | 'PAYMENT' | 'RESTORE'
  amount: BigintColumn
  balance_after: BigintColumn
  order_id: NullableBigint
  created_at: Timestamp
}

export interface AppliedRestoresTable {
  event_id: string
  kind: 'STOCK' | 'POINT' | 'COUPON'
  order_id: BigintColumn
  outcome: string
  applied_at: Timestamp
}

/** The shop's database: the stream library's tables and the shop's own. */
export interface Database extends StreamsDatabase {
  users: UsersTable
  coupons: CouponsTable
  user_coupons: UserCouponsTable
  coupon_issue_requests: CouponIssueRequestsTable
  products: ProductsTable
  cart_items: CartItemsTable
  orders: OrdersTable
  order_items: OrderItemsTable
  point_history: PointHistoryTable
  applied_restores: AppliedRestoresTable
}
