/**
 * `keyOwned` on the real runtime: the task learns its topic's partition count from the broker's
 * metadata, so a record a producer put on another partition than its key's goes to `<topic>.dlq` as
 * WRONG_PARTITION, its offset is committed past it, and the records around it are processed.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { partitionForKey } from '../../topology/partitioner.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import { echoTopology } from '../support/echo-topology.ts'
import { useInfra } from '../support/infra.ts'
import { headerValue, kcatConsume } from '../support/kcat.ts'
import { committedTotal, migratedDb, produce, quietLog, waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('keyOwned sources on the real broker', () => {
  it('should send a record on another partition than its key to the DLQ and process the rest', async () => {
    const input = await infra.createTopic('owned', 3)
    const output = await infra.createTopic('owned-seen', 3)
    const applicationId = infra.name('owned')
    // Its DLQ, as an application's topic set has it (the service creates every contract topic's).
    await infra.admin.createTopics({ topics: [`${input}.dlq`], partitions: 3, replicas: 1 })
    cleanups.push(() => infra.admin.deleteTopics({ topics: [`${input}.dlq`] }).catch(() => {}))
    const db = await migratedDb(infra.databaseUrl)
    cleanups.push(() => db.destroy())
    const topology = echoTopology({ applicationId, input, output, keyOwned: true })
    const own = partitionForKey('alice', 3)
    await produce(infra.brokers, [
      { topic: input, key: 'alice', value: '1', partition: own },
      { topic: input, key: 'alice', value: '2', partition: (own + 1) % 3 },
      { topic: input, key: 'alice', value: '3', partition: own },
    ])
    const app = new StreamsApp(topology, { brokers: infra.brokers, db, log: quietLog })
    await app.start()
    cleanups.push(() => app.stop())

    await waitUntil(
      'every record consumed',
      async () => (await committedTotal(db, applicationId, input)) === 3,
    )
    await waitUntil('outbox drained', async () => (await app.relay.backlog()) === 0)
    const seen = await kcatConsume(infra.brokers, output)
    expect(seen.map((r) => r.value)).toEqual(['1', '3'])
    const dead = await kcatConsume(infra.brokers, `${input}.dlq`)
    expect(dead.map((r) => [r.key, r.value, headerValue(r.headers, 'error.code')])).toEqual([
      ['alice', '2', 'WRONG_PARTITION'],
    ])
    expect(dead[0]?.headers).toContain(`belongs to partition ${own} of 3, not ${(own + 1) % 3}`)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from outbox`.execute(db)
    expect(rows[0]?.n).toBe(0)
  })
})
