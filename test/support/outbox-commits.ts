/**
 * Outbox rows as the runtime writes them, for the relay tests: each call commits its outputs as one
 * batch of a fresh task through the real PostgreSQL backend (one statement, one outbox insert). The
 * database is migrated on first use and closed after the file.
 */
import type { Kysely } from 'kysely'
import { afterAll } from 'vitest'
import type { Database } from '../../state/schema.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import type { OutboxRecord, TaskId } from '../../topology/runtime/backend.ts'
import { migratedDb } from './runtime-fixtures.ts'

export function useOutboxCommits(databaseUrl: string, applicationId: string) {
  let db: Kysely<Database> | undefined
  let partitionNo = 0
  afterAll(async () => {
    await db?.destroy()
  })
  return {
    /** The database, once a commit migrated it. */
    get db(): Kysely<Database> {
      if (!db) throw new Error('commitOutputs() has not run yet')
      return db
    },
    async commitOutputs(outputs: OutboxRecord[]): Promise<void> {
      db ??= await migratedDb(databaseUrl)
      const backend = new PostgresStateBackend(db)
      const task: TaskId = { applicationId, processor: 'p', partition: partitionNo++ }
      const { epoch } = await backend.claim(task, 'me', new Map([['in', 0n]]))
      await backend.commit({
        task,
        epoch,
        offsets: [{ topic: 'in', expected: 0n, next: 1n }],
        stores: [],
        outputs,
      })
    },
  }
}
