/**
 * The coupon issuer: first come, first served, per coupon. Requests are keyed by coupon, so one task
 * sees every request for a coupon, in partition order; it decides from partition-local counters with
 * no locks: the first `totalQuantity` eligible, distinct users win. Every request gets exactly one
 * result event and one outcome row, committed with the counters in the batch transaction.
 */
import { sql } from 'kysely'
import { type Static, Type } from 'typebox'
import type { Database } from '../state/schema.ts'
import type { KeyValueStore, ProcessorContext, TableRow } from '../topology/api.ts'
import type { StreamContext, StreamProcessor } from '../topology/dsl/index.ts'
import { type ArrayElement, arrayLiteral } from '../topology/postgres/array-literal.ts'
import type { LookupReader, TableWriter } from '../topology/postgres/state-backend.ts'
import type { StreamRecord } from '../topology/record.ts'
import type { CouponIssueRequest } from './coupon-request.ts'
import { EntityId, idKeys, isoAt } from './fields.ts'
import { ACCEPTED_BY_API, ShopHeaders } from './shop-headers.ts'

export const CouponStores = { ISSUED: 'coupon-issued', HOLDERS: 'coupon-holders' } as const
export const CouponTables = {
  USER_COUPONS: 'user-coupons',
  ISSUED: 'coupon-quantities',
  REQUESTS: 'coupon-requests',
} as const
export const CouponLookups = { COUPONS: 'coupons', USERS: 'users' } as const
export const COUPON_RESULTS_SINK = 'coupon-results'

/** What the `coupons` lookup returns for a coupon. */
export interface CouponInfo {
  totalQuantity: number
  issuedQuantity: number
  /** Milliseconds since the epoch, or null for a coupon that never expires. */
  expiresAt: number | null
}

export const RejectReasons = {
  SOLD_OUT: 'SOLD_OUT',
  ALREADY_ISSUED: 'ALREADY_ISSUED',
  COUPON_EXPIRED: 'COUPON_EXPIRED',
  COUPON_NOT_FOUND: 'COUPON_NOT_FOUND',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
} as const
export const RejectReason = Type.Enum(RejectReasons, { type: 'string' })
export type RejectReason = Static<typeof RejectReason>

/**
 * The `coupon-issue-result-topic` record (CONTRACT.md section 1). The request id is the request's, or
 * one derived from its log position (`derivedRequestId`), so it has no length bound of its own.
 */
const resultOf = { requestId: Type.String({ minLength: 1 }), userId: EntityId, couponId: EntityId }
export const CouponIssueResult = Type.Union([
  Type.Object({ ...resultOf, status: Type.Literal('ISSUED'), userCouponId: EntityId }),
  Type.Object({ ...resultOf, status: Type.Literal('REJECTED'), reason: RejectReason }),
])
export type CouponIssueResult = Static<typeof CouponIssueResult>

/** A user coupon's id: the coupon's id and the unit's ordinal, so a replay chooses the same id. */
export const userCouponId = (couponId: number, ordinal: number) => couponId * 1_000_000 + ordinal

/** The request id a request produced without one gets: its position in the log, which never changes. */
export const derivedRequestId = (record: StreamRecord<unknown>) =>
  `${record.topic}-${record.partition}-${record.offset}`

/** The `coupon-holders` key of a user's holding of a coupon. */
export const holderKey = (couponId: number, userId: number) => `${couponId}/${userId}`

/** A holder of a coupon: the user coupon, and the request that won it. */
export interface Holding {
  userCouponId: number
  requestId: string
}

/**
 * The instant a request's expiry is judged at. Never the clock: a replayed batch must reach the same
 * decision. A request our API accepted (it says so in a header) is judged when it was accepted — its
 * `requestedAt`, checked against the expiry by the API too — not when the outbox relay happened to
 * publish it. A record from any other producer is judged by its timestamp: a `requestedAt` it wrote
 * itself could be any instant.
 */
export function judgedAt(record: StreamRecord<CouponIssueRequest>): number {
  const { requestedAt } = record.value
  if (record.headers[ShopHeaders.ACCEPTED_BY] === ACCEPTED_BY_API && requestedAt !== undefined)
    return Date.parse(requestedAt)
  return record.timestamp
}

/** Forwards one result per request, for the topology to publish (`to` the result topic). */
export class CouponIssuer implements StreamProcessor<CouponIssueRequest, CouponIssueResult> {
  process(record: StreamRecord<CouponIssueRequest>, ctx: StreamContext<CouponIssueResult>): void {
    const { userId, couponId } = record.value
    const requestId = record.value.requestId ?? derivedRequestId(record)
    const decision = this.#decide(record, requestId, ctx)
    const result: CouponIssueResult =
      decision.status === 'ISSUED'
        ? { requestId, userId, couponId, status: 'ISSUED', userCouponId: decision.userCouponId }
        : { requestId, userId, couponId, status: 'REJECTED', reason: decision.reason }
    ctx.write(CouponTables.REQUESTS, {
      requestId,
      couponId,
      userId,
      status: result.status,
      reason: result.status === 'REJECTED' ? result.reason : null,
      userCouponId: result.status === 'ISSUED' ? result.userCouponId : null,
      requestedAt: record.value.requestedAt ?? isoAt(record.timestamp),
      decidedAt: isoAt(ctx.now()),
    })
    // The id comes from the request, not from its log position: the outbox publishes at least once, so
    // one request can reach the topic twice, and both copies must answer with one result id.
    ctx.forward({ key: String(couponId), value: result, id: requestId })
  }

  #decide(
    record: StreamRecord<CouponIssueRequest>,
    requestId: string,
    ctx: ProcessorContext,
  ): { status: 'ISSUED'; userCouponId: number } | { status: 'REJECTED'; reason: RejectReason } {
    const { userId, couponId } = record.value
    const holders = ctx.store<KeyValueStore<Holding>>(CouponStores.HOLDERS)
    const held = holders.get(holderKey(couponId, userId))
    // The same request again: the outbox publishes at least once, so a request can reach the topic
    // twice. It already won: answer the same result again and change nothing.
    if (held?.requestId === requestId) return { status: 'ISSUED', userCouponId: held.userCouponId }
    const coupon = ctx.lookup<CouponInfo>(CouponLookups.COUPONS).get(String(couponId))
    if (!coupon) return { status: 'REJECTED', reason: 'COUPON_NOT_FOUND' }
    if (!ctx.lookup<true>(CouponLookups.USERS).get(String(userId)))
      return { status: 'REJECTED', reason: 'USER_NOT_FOUND' }
    if (coupon.expiresAt !== null && judgedAt(record) >= coupon.expiresAt) {
      return { status: 'REJECTED', reason: 'COUPON_EXPIRED' }
    }
    if (held) return { status: 'REJECTED', reason: 'ALREADY_ISSUED' }
    const counters = ctx.store<KeyValueStore<number>>(CouponStores.ISSUED)
    const issued = counters.get(String(couponId)) ?? coupon.issuedQuantity
    if (issued >= coupon.totalQuantity) return { status: 'REJECTED', reason: 'SOLD_OUT' }

    const ordinal = issued + 1
    const id = userCouponId(couponId, ordinal)
    counters.put(String(couponId), ordinal)
    holders.put(holderKey(couponId, userId), { userCouponId: id, requestId })
    ctx.write(CouponTables.USER_COUPONS, {
      id,
      userId,
      couponId,
      issuedAt: isoAt(ctx.now()),
    })
    ctx.write(CouponTables.ISSUED, { couponId, issuedQuantity: ordinal })
    return { status: 'ISSUED', userCouponId: id }
  }
}

// --- Persistence on PostgreSQL: the lookups the issuer reads (coupons, users) and the writers of the
// rows it produces, applied inside the batch transaction. They travel with the processor (see
// shop-topology.ts). Each writer is idempotent per row, although fencing applies a batch at most once.

const readCoupons: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('coupons')
    .select(['id', 'total_quantity', 'issued_quantity', 'expires_at'])
    .where('id', '=', sql<string>`any(${arrayLiteral(idKeys(keys))}::bigint[])`)
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
    .where('id', '=', sql<string>`any(${arrayLiteral(idKeys(keys))}::bigint[])`)
    .execute()
  return new Map(rows.map((r) => [String(r.id), true]))
}

type Row<T> = TableRow & T
/** One field of every row, as the array literal a statement's `unnest` reads (array-literal.ts). */
const column = <T, K extends keyof T>(rows: readonly TableRow[], key: K) =>
  arrayLiteral(rows.map((r) => (r as Row<T>)[key] as ArrayElement))

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
    from unnest(${arrayLiteral([...latest.keys()])}::bigint[], ${arrayLiteral([...latest.values()])}::integer[]) as v(id, issued)
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

/** How the coupon issuer's lookups are read and its tables written, on PostgreSQL. */
export const couponLookups: Record<string, LookupReader> = {
  [CouponLookups.COUPONS]: readCoupons,
  [CouponLookups.USERS]: readUsers,
}

export const couponTables: Record<string, TableWriter> = {
  [CouponTables.USER_COUPONS]: writeUserCoupons,
  [CouponTables.ISSUED]: writeQuantities,
  [CouponTables.REQUESTS]: writeRequests,
}
