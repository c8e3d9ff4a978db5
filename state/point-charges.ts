/**
 * Admin point charges. A user's balance has one writer, the partition that owns the user (the saga's
 * user owner), so the API does not add to it: it writes a `charge` command to that owner's topic
 * through the outbox, and the owner applies it once (point_history `charge/<chargeId>`).
 */
import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { ShopHeaders } from '../processors/shop-headers.ts'
import { encodeHeaders } from '../topology/runtime/header-codec.ts'
import type { Database } from './schema.ts'
import { MAX_POINTS } from './users.ts'

/** The command the user owner reads on `<applicationId>-user-commands`, keyed by userId. */
export interface ChargeCommand {
  kind: 'charge'
  chargeId: string
  userId: number
  amount: number
}

export type ChargeRequestResult =
  | { status: 'ACCEPTED'; chargeId: string }
  | { status: 'USER_NOT_FOUND' }
  | { status: 'LIMIT_EXCEEDED' }

/**
 * Checks the user and the limit and writes the command in ONE statement (atomic on its own). The limit
 * check reads the committed balance, as the route did when it applied charges itself: charges still in
 * flight are not counted, so the owner checks again when it applies one.
 */
export async function requestCharge(
  db: Kysely<Database>,
  input: { userId: number; amount: number; topic: string },
): Promise<ChargeRequestResult> {
  const chargeId = randomUUID()
  const command: ChargeCommand = { kind: 'charge', chargeId, userId: input.userId, amount: input.amount }
  const headers = encodeHeaders({ [ShopHeaders.OUTPUT_ID]: `api/charge/${chargeId}` })
  const { rows } = await sql<{ user_found: boolean; within_limit: boolean }>`
    with
      checked as (
        select
          exists (select 1 from users where id = ${input.userId}::bigint) as user_found,
          exists (
            select 1 from users
            where id = ${input.userId}::bigint and points <= ${MAX_POINTS - input.amount}::bigint
          ) as within_limit
      ),
      published as (
        insert into outbox (topic, key, value, headers)
        select ${input.topic}::text, ${Buffer.from(String(input.userId))}::bytea,
          ${Buffer.from(JSON.stringify(command))}::bytea, ${headers}::bytea
        from checked where within_limit
      )
    select user_found, within_limit from checked`.execute(db)
  const row = rows[0]!
  if (!row.user_found) return { status: 'USER_NOT_FOUND' }
  if (!row.within_limit) return { status: 'LIMIT_EXCEEDED' }
  return { status: 'ACCEPTED', chargeId }
}
