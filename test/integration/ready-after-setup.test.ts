/**
 * Readiness means "can serve": a service whose schema is not migrated yet answers every request with a
 * missing table. The migration is held back here by taking kysely's migration lock (the advisory lock
 * its PostgreSQL adapter waits for) before the service starts.
 */
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { allTopics } from '../../processors/topics.ts'
import { useInfra } from '../support/infra.ts'
import { type ServiceProcess, serviceEnv, startService, waitForHttp } from '../support/service-process.ts'

/** kysely's PostgresAdapter.acquireMigrationLock: `pg_advisory_lock` on this id, in the migrated database. */
const KYSELY_MIGRATION_LOCK = '3853314791062309107'

const infra = useInfra()
const appId = infra.name('ready')
infra.ownRedisPrefix(`${appId}.`)
let service: ServiceProcess | undefined
const lock = new pg.Client({ connectionString: infra.databaseUrl })
afterAll(async () => {
  await service?.stop('SIGKILL')
  await lock.end().catch(() => {})
  await infra.admin.deleteTopics({ topics: allTopics(`${appId}.`) }).catch(() => {})
})

describe('readiness during start-up', () => {
  it('should answer 503 naming the migration while the schema is not migrated, then 200', async () => {
    await lock.connect()
    await lock.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`)
    service = await startService({
      ...serviceEnv(infra, appId),
      ROLE: 'api',
    })
    // Up and answering, PostgreSQL reachable, the topics created: only the migration is held back.
    const { body } = await waitForHttp(
      `${service.url}/health/ready`,
      (status, b) =>
        status === 503 && (b as { components?: { kafka?: { ok: boolean } } }).components?.kafka?.ok === true,
    )
    expect(body).toMatchObject({
      status: 'not_ready',
      failing: ['postgres'],
      components: { postgres: { ok: false, error: expect.stringContaining('not migrated') } },
    })
    await lock.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`)
    const ready = await waitForHttp(`${service.url}/health/ready`, (status) => status === 200)
    expect(ready.body).toMatchObject({ status: 'ready', components: { postgres: { ok: true } } })
  })
})
