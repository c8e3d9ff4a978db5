/**
 * The user owner: the one writer of each user's points and of the used-flags of the user's coupons.
 * Its commands (deduct points and use a coupon, from the saga; charges, from the admin API) and the
 * point and coupon restore events are all keyed by user, so one task sees every change of a user's
 * balance and coupons, in order, and decides from partition-local state with no lock. A ledger keyed
 * like `point_history.event_id` remembers what each command and event did, so a redelivered one
 * changes nothing and answers as before, and a restore gives back only what its order really took.
 */
import { sql } from 'kysely'
import type { Database } from '../state/schema.ts'
import type { KeyValueStore, TableRow } from '../topology/api.ts'
import { process, type StreamContext, type StreamProcessor } from '../topology/dsl/index.ts'
import { arrayLiteral } from '../topology/postgres/array-literal.ts'
import type { LookupReader, TableWriter } from '../topology/postgres/state-backend.ts'
import type { StreamRecord } from '../topology/record.ts'
import { idKeys, isoAt } from './fields.ts'
import {
  type CouponRestoreInput,
  type PointRestoreInput,
  SAGA_REPLIES_SINK,
  SagaIds,
  type SagaReply,
  type SinkSpec,
  type UserCommand,
  type UserOwnerInput,
} from './order-commands.ts'
import {
  ORDER_STATUS_LOOKUP,
  RESTORE_OUTCOMES,
  type RestoreOutcome,
  readOrderStatus,
  unfailedOrder,
  writeRestoreOutcomes,
} from './restore-outcomes.ts'

export const UserStores = {
  /** Each user's balance, once this owner has changed it (before that: the users row). */
  POINTS: 'user-points',
  /** Each user coupon's use, once this owner has changed it (before that: the user_coupons row). */
  COUPONS: 'coupon-use',
  /** What each command and restore event did, by ledger key: each is applied once. */
  LEDGER: 'user-ledger',
} as const
export const UserLookups = { POINTS: 'user-point-rows', COUPONS: 'user-coupon-rows' } as const
export const UserTables = {
  POINTS: 'user-point-levels',
  HISTORY: 'point-history',
  COUPONS: 'user-coupon-states',
} as const

/** A user coupon as its owner sees it: whose it is, and which order used it (null: unused). */
export interface CouponUse {
  userId: number
  orderId: number | null
}

/** A ledger entry: what a command or restore event did. */
export type LedgerEntry =
  | {
      kind: 'payment'
      state: 'DEDUCTED' | 'SHORT' | 'USER_NOT_FOUND' | 'RESTORED'
      userId: number
      amount: number
    }
  | { kind: 'coupon'; state: 'USED' | 'NOT_FOUND' | 'NOT_OWNER' | 'ALREADY_USED'; userCouponId: number }
  | { kind: 'done'; outcome: string }

/** Ledger keys; the payment, charge and restore ones are `point_history.event_id`s too. */
export const LedgerKeys = {
  payment: (orderId: number) => `payment/${orderId}`,
  coupon: (orderId: number) => `coupon/${orderId}`,
  charge: (chargeId: string) => `charge/${chargeId}`,
  pointRestore: (eventId: string) => `restore/${eventId}`,
  couponRestore: (eventId: string) => `coupon-restore/${eventId}`,
} as const

function ledgerKeys(input: UserOwnerInput): string[] {
  switch (input.kind) {
    case 'deduct-points':
      return input.userCouponId === undefined
        ? [LedgerKeys.payment(input.orderId)]
        : [LedgerKeys.payment(input.orderId), LedgerKeys.coupon(input.orderId)]
    case 'use-coupon':
      return [LedgerKeys.coupon(input.orderId)]
    case 'charge':
      return [LedgerKeys.charge(input.chargeId)]
    case 'point-restore':
      return [LedgerKeys.pointRestore(input.eventId), LedgerKeys.payment(input.orderId)]
    case 'coupon-restore':
      return [LedgerKeys.couponRestore(input.eventId)]
  }
}

type Ctx = StreamContext<never>

export class UserOwner implements StreamProcessor<UserOwnerInput, never> {
  process(record: StreamRecord<UserOwnerInput>, ctx: Ctx): void {
    const input = record.value
    switch (input.kind) {
      case 'deduct-points':
        this.#deduct(input, ctx)
        return
      case 'use-coupon':
        this.#useCoupon(input, ctx)
        return
      case 'charge':
        this.#charge(input, ctx)
        return
      case 'point-restore':
        this.#restorePoints(input, ctx)
        return
      case 'coupon-restore':
        this.#restoreCoupon(input, ctx)
        return
    }
  }

  #deduct(command: Extract<UserCommand, { kind: 'deduct-points' }>, ctx: Ctx): void {
    const { orderId, userId, amount, userCouponId } = command
    const ledger = ctx.store<KeyValueStore<LedgerEntry>>(UserStores.LEDGER)
    const key = LedgerKeys.payment(orderId)
    let entry = ledger.get(key)
    if (entry?.kind !== 'payment') {
      const points = this.#points(userId, ctx)
      const state = points === undefined ? 'USER_NOT_FOUND' : points < amount ? 'SHORT' : 'DEDUCTED'
      if (state === 'DEDUCTED') this.#move(userId, -amount, { key, kind: 'PAYMENT', orderId }, ctx)
      entry = { kind: 'payment', state, userId, amount }
      ledger.put(key, entry)
    }
    // A command seen before gets the reply it got then: the saga ignores a reply it no longer awaits.
    // A paid order's coupon is its next step, at this same owner: answered in the same reply. Never
    // for a payment already given back without one (its order failed): that would use the coupon now.
    const withCoupon =
      userCouponId !== undefined &&
      (entry.state === 'DEDUCTED' || ledger.get(LedgerKeys.coupon(orderId)) !== undefined)
    const reply: SagaReply =
      entry.state === 'USER_NOT_FOUND'
        ? { kind: 'user-not-found', orderId, userId }
        : entry.state === 'SHORT'
          ? { kind: 'points-short', orderId, userId }
          : withCoupon
            ? this.#couponReply(orderId, userId, userCouponId, ctx)
            : { kind: 'points-deducted', orderId, userId, amount: entry.amount }
    ctx.emit(SAGA_REPLIES_SINK, { key: String(orderId), value: reply, id: SagaIds.deductPoints(orderId) })
  }

  #useCoupon(command: Extract<UserCommand, { kind: 'use-coupon' }>, ctx: Ctx): void {
    const { orderId, userId, userCouponId } = command
    const reply = this.#couponReply(orderId, userId, userCouponId, ctx)
    ctx.emit(SAGA_REPLIES_SINK, { key: String(orderId), value: reply, id: SagaIds.useCoupon(orderId) })
  }

  /** Uses the coupon for the order, once (its ledger entry answers a repeat), and says how it went. */
  #couponReply(orderId: number, userId: number, userCouponId: number, ctx: Ctx): SagaReply {
    const ledger = ctx.store<KeyValueStore<LedgerEntry>>(UserStores.LEDGER)
    const key = LedgerKeys.coupon(orderId)
    let entry = ledger.get(key)
    if (entry?.kind !== 'coupon') {
      const coupon = this.#coupon(userCouponId, ctx)
      // The seed checked neither the owner nor "already used": both are checked here, by the one writer.
      const state = !coupon
        ? 'NOT_FOUND'
        : coupon.userId !== userId
          ? 'NOT_OWNER'
          : coupon.orderId !== null
            ? 'ALREADY_USED'
            : 'USED'
      if (state === 'USED') this.#setCoupon(userCouponId, { userId, orderId }, ctx)
      entry = { kind: 'coupon', state, userCouponId }
      ledger.put(key, entry)
    }
    return entry.state === 'USED'
      ? { kind: 'coupon-used', orderId, userCouponId: entry.userCouponId }
      : { kind: 'coupon-unusable', orderId, userCouponId: entry.userCouponId, reason: entry.state }
  }

  #charge(command: Extract<UserCommand, { kind: 'charge' }>, ctx: Ctx): void {
    const { chargeId, userId, amount } = command
    const ledger = ctx.store<KeyValueStore<LedgerEntry>>(UserStores.LEDGER)
    const key = LedgerKeys.charge(chargeId)
    if (ledger.has(key)) return
    const points = this.#points(userId, ctx)
    // The API refuses a charge past 2^53 - 1 from the balance it read; charges racing it can still
    // reach here, and a balance JavaScript cannot carry exactly must never be written.
    let outcome = 'APPLIED'
    if (points === undefined) outcome = 'IGNORED: no such user'
    else if (points + amount > Number.MAX_SAFE_INTEGER) outcome = 'IGNORED: the balance would exceed 2^53 - 1'
    else this.#move(userId, amount, { key, kind: 'CHARGE', orderId: null }, ctx)
    ledger.put(key, { kind: 'done', outcome })
  }

  #restorePoints(event: PointRestoreInput, ctx: Ctx): void {
    const { eventId, orderId, userId, amount } = event
    const ledger = ctx.store<KeyValueStore<LedgerEntry>>(UserStores.LEDGER)
    const key = LedgerKeys.pointRestore(eventId)
    if (ledger.has(key)) return
    const payment = ledger.get(LedgerKeys.payment(orderId))
    // Anyone may write this topic: giving back points no order paid would break conservation
    // (initial points + charges = points + paid by COMPLETED orders), so only a live payment of the
    // same user and amount is given back.
    let outcome = unfailedOrder(orderId, ctx.lookup(ORDER_STATUS_LOOKUP)) ?? 'APPLIED'
    if (outcome !== 'APPLIED') {
      // The order did not fail: what it paid stays paid.
    } else if (payment?.kind !== 'payment' || payment.state !== 'DEDUCTED' || payment.userId !== userId)
      outcome = 'IGNORED: the order holds no payment of the user'
    else if (payment.amount !== amount) outcome = `IGNORED: the order paid ${payment.amount}, not ${amount}`
    else {
      this.#move(userId, amount, { key, kind: 'RESTORE', orderId }, ctx)
      ledger.put(LedgerKeys.payment(orderId), { ...payment, state: 'RESTORED' })
    }
    ledger.put(key, { kind: 'done', outcome })
    ctx.write(RESTORE_OUTCOMES, { eventId, kind: 'POINT', orderId, outcome } satisfies RestoreOutcome)
  }

  #restoreCoupon(event: CouponRestoreInput, ctx: Ctx): void {
    const { eventId, orderId, userId, userCouponId } = event
    const ledger = ctx.store<KeyValueStore<LedgerEntry>>(UserStores.LEDGER)
    const key = LedgerKeys.couponRestore(eventId)
    if (ledger.has(key)) return
    const coupon = this.#coupon(userCouponId, ctx)
    // Un-used only for the order that used it: a late restore of an order that lost the race for
    // the coupon must not free it under the order that won.
    let outcome = unfailedOrder(orderId, ctx.lookup(ORDER_STATUS_LOOKUP)) ?? 'APPLIED'
    if (outcome !== 'APPLIED') {
      // The order did not fail: the coupon stays used by it.
    } else if (!coupon || coupon.userId !== userId || coupon.orderId !== orderId)
      outcome = 'IGNORED: the coupon is not used by the order'
    else this.#setCoupon(userCouponId, { userId, orderId: null }, ctx)
    ledger.put(key, { kind: 'done', outcome })
    ctx.write(RESTORE_OUTCOMES, { eventId, kind: 'COUPON', orderId, outcome } satisfies RestoreOutcome)
  }

  #points(userId: number, ctx: Ctx): number | undefined {
    const points = ctx.store<KeyValueStore<number>>(UserStores.POINTS)
    return points.get(String(userId)) ?? ctx.lookup<number>(UserLookups.POINTS).get(String(userId))
  }

  /** Moves a balance by `delta` and records it in the history under its ledger key. */
  #move(
    userId: number,
    delta: number,
    change: { key: string; kind: 'PAYMENT' | 'CHARGE' | 'RESTORE'; orderId: number | null },
    ctx: Ctx,
  ): void {
    const balance = (this.#points(userId, ctx) ?? 0) + delta
    ctx.store<KeyValueStore<number>>(UserStores.POINTS).put(String(userId), balance)
    ctx.write(UserTables.POINTS, { userId, points: balance })
    ctx.write(UserTables.HISTORY, {
      eventId: change.key,
      userId,
      kind: change.kind,
      amount: Math.abs(delta),
      balanceAfter: balance,
      orderId: change.orderId,
    })
  }

  #coupon(userCouponId: number, ctx: Ctx): CouponUse | undefined {
    const coupons = ctx.store<KeyValueStore<CouponUse>>(UserStores.COUPONS)
    return (
      coupons.get(String(userCouponId)) ??
      ctx.lookup<CouponUse>(UserLookups.COUPONS).get(String(userCouponId))
    )
  }

  #setCoupon(userCouponId: number, use: CouponUse, ctx: Ctx): void {
    ctx.store<KeyValueStore<CouponUse>>(UserStores.COUPONS).put(String(userCouponId), use)
    ctx.write(UserTables.COUPONS, {
      userCouponId,
      orderId: use.orderId,
      usedAt: use.orderId === null ? null : isoAt(ctx.now()),
    })
  }
}

// --- Persistence on PostgreSQL, applied in the batch transaction (see coupon-issuer.ts).

const readPoints: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'points'])
    .where('id', '=', sql<string>`any(${arrayLiteral(idKeys(keys))}::bigint[])`)
    .execute()
  return new Map(rows.map((r) => [String(r.id), Number(r.points)]))
}

const readCoupons: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('user_coupons')
    .select(['id', 'user_id', 'used', 'order_id'])
    .where('id', '=', sql<string>`any(${arrayLiteral(idKeys(keys))}::bigint[])`)
    .execute()
  return new Map(
    rows.map((r): [string, CouponUse] => [
      String(r.id),
      // A coupon marked used without an order (before orders existed) is used all the same.
      { userId: Number(r.user_id), orderId: r.used ? Number(r.order_id ?? 0) : null },
    ]),
  )
}

/** The last row per key: a batch may change one balance or coupon several times. */
function lastBy<R>(rows: readonly TableRow[], key: (r: R) => number): R[] {
  const last = new Map<number, R>()
  for (const r of rows as readonly R[]) last.set(key(r), r)
  return [...last.values()]
}

const writePoints: TableWriter<Database> = async (trx, rows) => {
  const latest = lastBy<{ userId: number; points: number }>(rows, (r) => r.userId)
  await sql`
    update users set points = v.points
    from unnest(${arrayLiteral(latest.map((r) => r.userId))}::bigint[], ${arrayLiteral(latest.map((r) => r.points))}::bigint[])
      as v(id, points)
    where users.id = v.id`.execute(trx)
}

interface HistoryRow {
  eventId: string
  userId: number
  kind: string
  amount: number
  balanceAfter: number
  orderId: number | null
}

const writeHistory: TableWriter<Database> = async (trx, rows) => {
  const all = rows as ReadonlyArray<TableRow & HistoryRow>
  const c = <K extends keyof HistoryRow>(key: K) => arrayLiteral(all.map((r) => r[key]))
  await sql`
    insert into point_history (event_id, user_id, kind, amount, balance_after, order_id)
    select * from unnest(${c('eventId')}::text[], ${c('userId')}::bigint[], ${c('kind')}::text[],
      ${c('amount')}::bigint[], ${c('balanceAfter')}::bigint[], ${c('orderId')}::bigint[])
    on conflict (event_id) do nothing`.execute(trx)
}

const writeCoupons: TableWriter<Database> = async (trx, rows) => {
  const latest = lastBy<{ userCouponId: number; orderId: number | null; usedAt: string | null }>(
    rows,
    (r) => r.userCouponId,
  )
  await sql`
    update user_coupons set used = v.order_id is not null, used_at = v.used_at, order_id = v.order_id
    from unnest(${arrayLiteral(latest.map((r) => r.userCouponId))}::bigint[],
      ${arrayLiteral(latest.map((r) => r.orderId))}::bigint[],
      ${arrayLiteral(latest.map((r) => r.usedAt))}::timestamptz[]) as v(id, order_id, used_at)
    where user_coupons.id = v.id`.execute(trx)
}

/** The user owner's step, with everything it reads and writes: pipe the merged commands and restores into it. */
export function userOwner(replies: SinkSpec) {
  const userKey = (input: UserOwnerInput) => String(input.userId)
  const couponKey = (input: UserOwnerInput) => {
    const id =
      input.kind === 'use-coupon' || input.kind === 'coupon-restore' || input.kind === 'deduct-points'
        ? input.userCouponId
        : undefined
    return id === undefined ? undefined : String(id)
  }
  return process<UserOwnerInput, never>(() => new UserOwner(), {
    name: 'own-points-and-coupons',
    stores: {
      [UserStores.POINTS]: { loading: 'keyed', keys: userKey },
      [UserStores.COUPONS]: { loading: 'keyed', keys: couponKey },
      [UserStores.LEDGER]: { loading: 'keyed', keys: ledgerKeys },
    },
    lookups: {
      [UserLookups.POINTS]: userKey,
      [UserLookups.COUPONS]: couponKey,
      [ORDER_STATUS_LOOKUP]: (input) =>
        input.kind === 'point-restore' || input.kind === 'coupon-restore' ? String(input.orderId) : undefined,
    },
    tables: [UserTables.POINTS, UserTables.HISTORY, UserTables.COUPONS, RESTORE_OUTCOMES],
    readers: {
      [UserLookups.POINTS]: readPoints,
      [UserLookups.COUPONS]: readCoupons,
      [ORDER_STATUS_LOOKUP]: readOrderStatus,
    },
    writers: {
      [UserTables.POINTS]: writePoints,
      [UserTables.HISTORY]: writeHistory,
      [UserTables.COUPONS]: writeCoupons,
      [RESTORE_OUTCOMES]: writeRestoreOutcomes,
    },
    sinks: { [SAGA_REPLIES_SINK]: replies },
  })
}
