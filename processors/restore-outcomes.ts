/**
 * The `applied_restores` table both owners write: one row per restore event id they received, with
 * what they did (APPLIED, or IGNORED and why). It is the audit trail of compensation; the owners'
 * own stores, committed in the same transaction, are what makes each event apply once.
 */
import { sql } from 'kysely'
import type { Database } from '../state/schema.ts'
import type { TableRow } from '../topology/api.ts'
import { arrayLiteral } from '../topology/postgres/array-literal.ts'
import type { LookupReader, TableWriter } from '../topology/postgres/state-backend.ts'
import { idKeys } from './fields.ts'

export const RESTORE_OUTCOMES = 'restore-outcomes'

/**
 * The status of the order a restore event names, read from the row its saga commits. The saga marks
 * an order FAILED in the same commit that emits its restore events, so a real restore always finds it
 * FAILED; one written by anyone else for an order that COMPLETED (or is still running) finds it not,
 * and giving back what that order took would break conservation.
 */
export const ORDER_STATUS_LOOKUP = 'restore-order-status'

export const readOrderStatus: LookupReader<Database> = async (db, keys) => {
  const { rows } = await sql<{ id: string; status: string }>`
    select id, status from orders
    where id = any(${arrayLiteral(idKeys(keys))}::bigint[])`.execute(db)
  return new Map(rows.map((r) => [String(r.id), r.status]))
}

/** Why a restore of `orderId` must be ignored when its order did not fail, else undefined. */
export function unfailedOrder(orderId: number, statuses: { get(key: string): unknown }): string | undefined {
  const status = statuses.get(String(orderId))
  return status === 'FAILED' ? undefined : `IGNORED: the order is ${status ?? 'unknown'}, not FAILED`
}

export interface RestoreOutcome {
  eventId: string
  kind: 'STOCK' | 'POINT' | 'COUPON'
  orderId: number
  outcome: string
}

export const writeRestoreOutcomes: TableWriter<Database> = async (trx, rows) => {
  const all = rows as ReadonlyArray<TableRow & RestoreOutcome>
  const c = <K extends keyof RestoreOutcome>(key: K) => arrayLiteral(all.map((r) => r[key]))
  // The first outcome stands: an event id can only be recorded once (it is the primary key).
  await sql`
    insert into applied_restores (event_id, kind, order_id, outcome)
    select * from unnest(${c('eventId')}::text[], ${c('kind')}::text[], ${c('orderId')}::bigint[],
      ${c('outcome')}::text[])
    on conflict (event_id) do nothing`.execute(trx)
}
