/** The user aggregate: a name and a point balance (integer won). */
import type { Kysely } from 'kysely'
import type { Database } from './schema.ts'

export interface User {
  userId: number
  name: string
  points: number
}

/**
 * Balances stay exact in JSON and in JavaScript: no charge may take one past this. Charges are applied
 * by the user's owner (state/point-charges.ts writes them as commands).
 */
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
