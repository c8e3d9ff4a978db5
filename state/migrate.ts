import type { Kysely } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import { CommerceError } from '../service/errors.ts'
import * as runtime from './migrations/0001-runtime.ts'
import * as coupons from './migrations/0002-coupons.ts'
import * as outboxBytes from './migrations/0003-outbox-bytes.ts'
import * as sourcePartitions from './migrations/0004-source-partitions.ts'
import * as appliedIds from './migrations/0005-applied-ids.ts'

/**
 * Migrations are imported statically rather than read from a folder: the list is checked by the
 * type checker, and works the same from source, a bundle or a container image.
 */
const migrations: Record<string, Migration> = {
  '0001-runtime': runtime,
  '0002-coupons': coupons,
  '0003-outbox-bytes': outboxBytes,
  '0004-source-partitions': sourcePartitions,
  '0005-applied-ids': appliedIds,
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

/** Brings the schema up to date; returns the names applied now (empty when already current). */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({ db, provider })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find((r) => r.status === 'Error')
  if (error || failed) {
    const name = failed ? ` (${failed.migrationName})` : ''
    throw new CommerceError('MIGRATION_FAILED', `migration failed${name}: ${String(error)}`, { cause: error })
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
