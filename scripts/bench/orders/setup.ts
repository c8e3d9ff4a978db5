/** What the order benchmark's phases share: a fresh shop of their own, and the restore events owed. */
import type { Kysely } from 'kysely'
import { createDb } from '../../../state/db.ts'
import { migrateToLatest } from '../../../state/migrate.ts'
import type { Bench } from '../harness/bench.ts'
import { createDatabase } from '../harness/infra.ts'
import type { OrdersCheck } from './verify.ts'
import { type BenchOrder, insertOrders, insertShop, type Workload } from './workload.ts'

/** The restore events the orders' compensation must publish (and their owners apply). */
export const owed = (orders: readonly BenchOrder[]) =>
  orders.reduce((s, o) => s + o.restores.stock + o.restores.points, 0)

/** A check's verdict for the log: true, or false with its first examples. */
export const outcome = (check: OrdersCheck) =>
  `${check.ok}${check.examples.length ? ` (${check.examples.join('; ')})` : ''}`

/** A migrated database with the shop and the given orders' rows; dropped at the end of the run. */
export async function freshShop(bench: Bench, orders: readonly BenchOrder[], w: Workload) {
  const database = await createDatabase()
  bench.cleanups.push(`drop database ${database.name}`, database.drop)
  const db = createDb({ url: database.url, maxConnections: 2 })
  await migrateToLatest(db as Kysely<unknown>)
  await db.destroy()
  await insertShop(database.url, w)
  await insertOrders(database.url, orders)
  return database
}
