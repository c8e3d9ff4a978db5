/**
 * The library's own tables (offsets, task ownership, stores, the outbox, what the relay set aside),
 * as kysely migrations. An application with migrations of its own lists these beside its own in one
 * Migrator (names sort them: they were written in one sequence with the shop's); one without calls
 * `migrateStreams`.
 */
import type { Kysely } from 'kysely'
import { type Migration, Migrator } from 'kysely/migration'
import { StreamsError } from '../errors.ts'
import * as runtime from './migrations/0001-runtime.ts'
import * as outboxBytes from './migrations/0003-outbox-bytes.ts'
import * as sourcePartitions from './migrations/0004-source-partitions.ts'
import * as appliedIds from './migrations/0005-applied-ids.ts'
import * as outboxBatches from './migrations/0007-outbox-batches.ts'
import * as appliedBatches from './migrations/0008-applied-batches.ts'

export const streamsMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-runtime': runtime,
  '0003-outbox-bytes': outboxBytes,
  '0004-source-partitions': sourcePartitions,
  '0005-applied-ids': appliedIds,
  '0007-outbox-batches': outboxBatches,
  '0008-applied-batches': appliedBatches,
})

/**
 * Runs `migrations` (the library's, plus the application's) to the latest; returns the names applied
 * now. One failure stops it with a MIGRATION_FAILED error naming the migration.
 */
export async function migrate(
  db: Kysely<unknown>,
  migrations: Readonly<Record<string, Migration>> = streamsMigrations,
): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find((r) => r.status === 'Error')
  if (error || failed) {
    const name = failed ? ` (${failed.migrationName})` : ''
    throw new StreamsError('MIGRATION_FAILED', `migration failed${name}: ${String(error)}`, { cause: error })
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
