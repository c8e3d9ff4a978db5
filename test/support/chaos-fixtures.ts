/** The counting workload of the chaos tests: produce, run children, and check effects are exact. */
import { sql } from 'kysely'
import { expect } from 'vitest'
import { outboxBacklog } from '../../topology/postgres/outbox-relay.ts'
import { type Child, spawnChild } from './child.ts'
import type { TestInfra } from './infra.ts'
import { headerValue, kcatConsume } from './kcat.ts'
import { committedTotal, countedMessages, migratedDb, produce, waitUntil } from './runtime-fixtures.ts'

export async function countingSetup(infra: TestInfra) {
  const input = await infra.createTopic('chaos-in')
  const output = await infra.createTopic('chaos-out')
  await infra.admin.createTopics({ topics: [`${input}.dlq`], partitions: 3, replicas: 1 })
  const applicationId = infra.name('chaos-app')
  const db = await migratedDb(infra.databaseUrl)
  /** Records produced so far, per key. */
  const produced = new Map<string, number>()
  let children = 0

  return {
    input,
    output,
    applicationId,
    db,
    produced,
    total: () => [...produced.values()].reduce((a, b) => a + b, 0),

    /** Produces `perKey` more records for each of `keys` keys, interleaved. */
    async produce(keys: number, perKey: number): Promise<void> {
      await produce(infra.brokers, countedMessages(input, keys, perKey, produced), 2_000)
    },

    start(env: Record<string, string> = {}): Child {
      return spawnChild('test/support/runtime-child.ts', {
        BROKERS: infra.brokers.join(','),
        DATABASE_URL: infra.databaseUrl,
        APP_ID: applicationId,
        INPUT: input,
        OUTPUT: output,
        INSTANCE: `instance-${++children}`,
        ...env,
      })
    },

    committed: () => committedTotal(db, applicationId, input),

    async waitForAll(timeoutMs = 120_000): Promise<void> {
      const total = [...produced.values()].reduce((a, b) => a + b, 0)
      await waitUntil(
        `${total} records committed`,
        async () => (await committedTotal(db, applicationId, input)) === total,
        timeoutMs,
      )
      await waitUntil(
        'outbox drained',
        async () => {
          return (await outboxBacklog(db)) === 0
        },
        timeoutMs,
      )
    },

    /** Every key counted exactly as often as it was produced: no record lost, none applied twice. */
    async expectExactCounts(): Promise<void> {
      const { rows } = await sql<{ key: string; value: number }>`
        select key, value from store_entries where application_id = ${applicationId} and store = 'counts'`.execute(
        db,
      )
      const counted = new Map(rows.map((r) => [r.key, r.value]))
      expect(counted.size).toBe(produced.size)
      const wrong = [...produced].filter(([key, n]) => counted.get(key) !== n)
      expect(wrong, 'keys whose count differs from what was produced').toEqual([])
    },

    /**
     * Every output reached Kafka: duplicates may be on the wire (at-least-once publication), but after
     * de-duplication by output id each key has exactly the counts 1..n, once each.
     */
    async expectOutputsOnce(): Promise<{ published: number; distinct: number }> {
      const records = await kcatConsume(infra.brokers, output)
      const byId = new Map<string, { key: string; count: number }>()
      for (const r of records) {
        const id = headerValue(r.headers, 'streams.output-id')
        expect(id, 'every output has an id').toBeTruthy()
        byId.set(id!, JSON.parse(r.value))
      }
      const counts = new Map<string, number[]>()
      for (const { key, count } of byId.values()) counts.set(key, [...(counts.get(key) ?? []), count])
      for (const [key, n] of produced) {
        const seen = (counts.get(key) ?? []).sort((a, b) => a - b)
        expect(seen, key).toEqual(Array.from({ length: n }, (_, i) => i + 1))
      }
      return { published: records.length, distinct: byId.size }
    },

    async close(): Promise<void> {
      await db.destroy()
    },
  }
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
