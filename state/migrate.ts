import type { Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import { migrate, streamsMigrations } from '../topology/postgres/migrations.ts'
import * as coupons from './migrations/0002-coupons.ts'
import * as orders from './migrations/0006-orders.ts'

/**
 * The stream library's migrations and the shop's, in one sequence. Imported statically rather than
 * read from a folder: the list is checked by the type checker, and works the same from source, a bundle
 * or a container image.
 */
const migrations: Record<string, Migration> = {
  ...streamsMigrations,
  '0002-coupons': coupons,
  '0006-orders': orders,
}

/** Brings the schema up to date; returns the names applied now (empty when already current). */
export function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  return migrate(db, migrations)
}
