/**
 * The `applied_restores` table both owners write: one row per restore event id they received, with
 * what they did (APPLIED, or IGNORED and why). It is the audit trail of compensation; the owners'
 * own stores, committed in the same transaction, are what makes each event apply once.
 */
import { sql } from 'kysely'
import type { Database } from '../state/schema.ts'
import type { TableRow } from '../topology/api.ts'
import type { TableWriter } from '../topology/postgres/state-backend.ts'

export const RESTORE_OUTCOMES = 'restore-outcomes'

export interface RestoreOutcome {
  eventId: string
  kind: 'STOCK' | 'POINT' | 'COUPON'
  orderId: number
  outcome: string
}

export const writeRestoreOutcomes: TableWriter<Database> = async (trx, rows) => {
  const all = rows as ReadonlyArray<TableRow & RestoreOutcome>
  const c = <K extends keyof RestoreOutcome>(key: K) => all.map((r) => r[key])
  // The first outcome stands: an event id can only be recorded once (it is the primary key).
  await sql`
    insert into applied_restores (event_id, kind, order_id, outcome)
    select * from unnest(${c('eventId')}::text[], ${c('kind')}::text[], ${c('orderId')}::bigint[],
      ${c('outcome')}::text[])
    on conflict (event_id) do nothing`.execute(trx)
}
