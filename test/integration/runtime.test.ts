import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { Headers } from '../../topology/runtime/task.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import { countingTopology } from '../support/counting-topology.ts'
import { useInfra } from '../support/infra.ts'
import { kcatConsume } from '../support/kcat.ts'
import { committedTotal, migratedDb, produce, quietLog, waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('StreamsRuntime on the real broker and PostgreSQL', () => {
  it('should count every record once, publish every output, and send poison records to the DLQ', async () => {
    const input = await infra.createTopic('events')
    const output = await infra.createTopic('counted')
    const dlq = `${input}.dlq`
    await infra.admin.createTopics({ topics: [dlq], partitions: 3, replicas: 1 })
    const applicationId = infra.name('app')
    const db = await migratedDb(infra.databaseUrl)
    cleanups.push(() => db.destroy())

    const keys = 30
    const perKey = 40
    const messages = []
    for (let n = 0; n < perKey; n++) {
      for (let k = 0; k < keys; k++)
        messages.push({ topic: input, key: `k${k}`, value: JSON.stringify({ key: `k${k}`, n }) })
    }
    const poison = [
      { topic: input, key: 'k1', value: '{not json' },
      { topic: input, key: 'k2', value: JSON.stringify({ key: 'k2', n: 'x' }) },
      { topic: input, key: 'k3', value: JSON.stringify({ key: 'other', n: 1 }) },
    ]
    await produce(infra.brokers, [...messages.slice(0, 500), ...poison, ...messages.slice(500)])

    const app = new StreamsApp(countingTopology({ applicationId, input, output }), {
      brokers: infra.brokers,
      db,
      // The relay on its worker thread: its counts must reach this registry.
      databaseUrl: infra.databaseUrl,
      relay: 'thread',
      metricsPrefix: 'commerce_',
      log: quietLog,
      sessionTimeoutMs: 6_000,
    })
    const { registry, relay } = app
    await app.start()
    cleanups.push(() => app.stop())
    const total = messages.length + poison.length
    await waitUntil(
      'all records committed',
      async () => (await committedTotal(db, applicationId, input)) === total,
    )
    await waitUntil('outbox drained', async () => (await relay.backlog()) === 0)

    const { rows } = await sql<{ key: string; value: number }>`
      select key, value from store_entries where application_id = ${applicationId} and store = 'counts'`.execute(
      db,
    )
    expect(rows).toHaveLength(keys)
    for (const row of rows) expect(row.value, row.key).toBe(perKey)

    const published = await kcatConsume(infra.brokers, output)
    expect(published).toHaveLength(keys * perKey)
    // Per key, the counts arrive in order 1..perKey.
    const seen = new Map<string, number[]>()
    for (const r of published) {
      const { key, count } = JSON.parse(r.value) as { key: string; count: number }
      seen.set(key, [...(seen.get(key) ?? []), count])
    }
    for (const counts of seen.values())
      expect(counts).toEqual(Array.from({ length: perKey }, (_, i) => i + 1))

    const dead = await kcatConsume(infra.brokers, dlq)
    expect(dead.map((d) => d.value).sort()).toEqual(poison.map((p) => p.value).sort())

    const text = await registry.metrics()
    expect(text).toMatch(
      new RegExp(`commerce_records_dlq_total\\{topic="${input}",code="DESERIALIZATION_FAILED"\\} 1`),
    )
    expect(text).toMatch(new RegExp(`commerce_records_dlq_total\\{topic="${input}",code="KEY_MISMATCH"\\} 1`))
    expect(text).toMatch(
      new RegExp(`commerce_records_dlq_total\\{topic="${input}",code="PROCESSING_FAILED"\\} 0`),
    )
    expect(text).toMatch(
      new RegExp(`commerce_records_processed_total\\{topic="${input}",partition="\\d"\\} \\d+`),
    )
    for (const name of [
      'commerce_batch_size_records_bucket',
      'commerce_commit_duration_seconds_bucket',
      'commerce_end_to_end_latency_seconds_bucket',
      'commerce_outbox_published_total',
      'commerce_outbox_publish_latency_seconds_bucket',
      'commerce_rebalances_total',
    ]) {
      expect(text, name).toContain(name)
    }
    // Counted on the relay's worker thread after its delete commits, then sent here: it may trail the backlog.
    await waitUntil('every output counted as published', async () =>
      (await registry.metrics()).includes(
        `commerce_outbox_published_total{topic="${output}"} ${keys * perKey}`,
      ),
    )
    await waitUntil('lag gauges', async () =>
      /commerce_partition_lag_records\{topic="[^"]+",partition="\d"\} 0/.test(await registry.metrics()),
    )
    expect(await registry.metrics()).toMatch(/commerce_owned_partitions\{processor="counter"\} 3/)
    expect(app.problem()).toBeUndefined()
    expect(
      app
        .status()!
        .tasks.map((t) => t.task)
        .sort(),
    ).toEqual(['counter/0', 'counter/1', 'counter/2'])
    await app.stop()
    expect(Headers.ERROR_CODE).toBe('error.code')
  })
})
