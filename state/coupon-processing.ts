/**
 * The coupon issuer's persistence on PostgreSQL: the lookups it reads (coupons, users) and the
 * writers for the rows it produces, applied inside the batch transaction. Each writer is idempotent
 * per row, although the runtime's fencing already applies a batch at most once.
 */
import { sql } from 'kysely'
import { type CouponInfo, CouponLookups, CouponTables } from '../processors/coupon-issuer.ts'
import type { TableRow } from '../topology/api.ts'
import type { LookupReader, TableWriter } from '../topology/postgres/state-backend.ts'
import type { Database } from './schema.ts'

const ids = (keys: readonly string[]) => keys.filter((k) => /^\d{1,15}$/.test(k))

const readCoupons: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('coupons')
    .select(['id', 'total_quantity', 'issued_quantity', 'expires_at'])
    .where('id', '=', sql<string>`any(${ids(keys)}::bigint[])`)
    .execute()
  return new Map(
    rows.map((r): [string, CouponInfo] => [
      String(r.id),
      {
        totalQuantity: r.total_quantity,
        issuedQuantity: r.issued_quantity,
        expiresAt: r.expires_at?.getTime() ?? null,
      },
    ]),
  )
}

const readUsers: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', sql<string>`any(${ids(keys)}::bigint[])`)
    .execute()
  return new Map(rows.map((r) => [String(r.id), true]))
}

type Row<T> = TableRow & T
const column = <T, K extends keyof T>(rows: readonly TableRow[], key: K) =>
  rows.map((r) => (r as Row<T>)[key])

interface UserCouponRow {
  id: number
  userId: number
  couponId: number
  issuedAt: string
}

const writeUserCoupons: TableWriter<Database> = async (trx, rows) => {
  const c = <K extends keyof UserCouponRow>(key: K) => column<UserCouponRow, K>(rows, key)
  await sql`
    insert into user_coupons (id, user_id, coupon_id, issued_at)
    select * from unnest(${c('id')}::bigint[], ${c('userId')}::bigint[], ${c('couponId')}::bigint[],
      ${c('issuedAt')}::timestamptz[])
    on conflict (id) do nothing`.execute(trx)
}

interface QuantityRow {
  couponId: number
  issuedQuantity: number
}

const writeQuantities: TableWriter<Database> = async (trx, rows) => {
  // A batch may issue several units of one coupon: the largest count is the one to keep.
  const latest = new Map<number, number>()
  for (const r of rows as Row<QuantityRow>[]) {
    latest.set(r.couponId, Math.max(latest.get(r.couponId) ?? 0, r.issuedQuantity))
  }
  await sql`
    update coupons set issued_quantity = greatest(coupons.issued_quantity, v.issued)
    from unnest(${[...latest.keys()]}::bigint[], ${[...latest.values()]}::integer[]) as v(id, issued)
    where coupons.id = v.id`.execute(trx)
}

interface RequestRow {
  requestId: string
  couponId: number
  userId: number
  status: string
  reason: string | null
  userCouponId: number | null
  requestedAt: string
  decidedAt: string
}

const writeRequests: TableWriter<Database> = async (trx, all) => {
  // One row per request id: a statement may not update the same row twice.
  const firstById = new Map<string, TableRow>()
  for (const row of all) {
    const id = (row as Row<RequestRow>).requestId
    if (!firstById.has(id)) firstById.set(id, row)
  }
  const rows = [...firstById.values()]
  const c = <K extends keyof RequestRow>(key: K) => column<RequestRow, K>(rows, key)
  // The API inserts a PENDING row when it accepts a request; requests produced straight to the topic
  // have none. The first decision stands: a duplicate request id never rewrites an outcome, nor decides
  // another coupon's PENDING request that an upstream service gave the same id.
  await sql`
    insert into coupon_issue_requests
      (request_id, coupon_id, user_id, status, reason, user_coupon_id, requested_at, decided_at)
    select * from unnest(${c('requestId')}::text[], ${c('couponId')}::bigint[], ${c('userId')}::bigint[],
      ${c('status')}::text[], ${c('reason')}::text[], ${c('userCouponId')}::bigint[],
      ${c('requestedAt')}::timestamptz[], ${c('decidedAt')}::timestamptz[])
    on conflict (request_id) do update set
      status = excluded.status, reason = excluded.reason,
      user_coupon_id = excluded.user_coupon_id, decided_at = excluded.decided_at
    where coupon_issue_requests.status = 'PENDING' and coupon_issue_requests.coupon_id = excluded.coupon_id`.execute(
    trx,
  )
}

export const couponLookups: Record<string, LookupReader> = {
  [CouponLookups.COUPONS]: readCoupons,
  [CouponLookups.USERS]: readUsers,
}

export const couponTables: Record<string, TableWriter> = {
  [CouponTables.USER_COUPONS]: writeUserCoupons,
  [CouponTables.ISSUED]: writeQuantities,
  [CouponTables.REQUESTS]: writeRequests,
}
