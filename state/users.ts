/** The user aggregate: a name and a point balance (integer won). */
import type { Kysely } from 'kysely'
import type { Database } from './schema.ts'

export interface User {
  userId: number
  name: string
  points: number
}

/** Balances stay exact in JSON and in JavaScript: no charge may take one past this. */
export const MAX_POINTS = Number.MAX_SAFE_INTEGER

const toUser = (row: { id: string; name: string; points: string }): User => ({
  userId: Number(row.id),
  name: row.name,
  points: Number(row.points),
})

export async function createUser(
  db: Kysely<Database>,
  input: { name: string; points: number },
): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({ name: input.name, points: input.points })
    .returning(['id', 'name', 'points'])
    .executeTakeFirstOrThrow()
  return toUser(row)
}

export async function findUser(db: Kysely<Database>, userId: number): Promise<User | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'name', 'points'])
    .where('id', '=', String(userId))
    .executeTakeFirst()
  return row && toUser(row)
}

export type ChargeResult =
  | { status: 'CHARGED'; user: User }
  | { status: 'USER_NOT_FOUND' }
  | { status: 'LIMIT_EXCEEDED' }

/** Adds `amount` points to a user's balance in one statement (concurrent charges all count). */
export async function chargePoints(
  db: Kysely<Database>,
  input: { userId: number; amount: number },
): Promise<ChargeResult> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ points: eb('points', '+', String(input.amount)) }))
    .where('id', '=', String(input.userId))
    .where('points', '<=', String(MAX_POINTS - input.amount))
    .returning(['id', 'name', 'points'])
    .executeTakeFirst()
  if (row) return { status: 'CHARGED', user: toUser(row) }
  // Cold path: tell "no such user" from "the balance would leave the exact-integer range".
  return (await findUser(db, input.userId)) ? { status: 'LIMIT_EXCEEDED' } : { status: 'USER_NOT_FOUND' }
}
