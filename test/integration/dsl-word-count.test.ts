import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { StreamsApp } from '../../topology/streams-app.ts'
import { useInfra } from '../support/infra.ts'
import { headerValue, kcatConsume } from '../support/kcat.ts'
import { committedTotal, migratedDb, produce, quietLog, waitUntil } from '../support/runtime-fixtures.ts'
import { expectedCounts, wordCountTopology } from '../support/word-count-topology.ts'

const infra = useInfra()
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const VOCABULARY = Array.from({ length: 40 }, (_, i) => `w${i}`)

describe('a DSL topology of two processors on the real broker', () => {
  it('should create its internal topic at start-up and count every word exactly', async () => {
    const input = await infra.createTopic('lines', 4)
    const output = await infra.createTopic('word-counts', 3)
    const applicationId = infra.name('wc')
    const internal = `${applicationId}-by-word`
    cleanups.push(() => infra.admin.deleteTopics({ topics: [internal, `${internal}.dlq`] }).catch(() => {}))
    const db = await migratedDb(infra.databaseUrl)
    cleanups.push(() => db.destroy())

    // Deterministic lines of 1..6 words, so the expected counts are known.
    const lines = Array.from({ length: 1_500 }, (_, i) =>
      Array.from({ length: 1 + (i % 6) }, (_, j) => VOCABULARY[(i * 7 + j * 13) % VOCABULARY.length]).join(
        ' ',
      ),
    )
    await produce(
      infra.brokers,
      lines.map((line, i) => ({ topic: input, key: `line-${i}`, value: JSON.stringify(line) })),
    )

    const topology = wordCountTopology({ applicationId, input, output })
    // Two instances: each owns some partitions of both processors (the assignor keeps partition p of
    // every topic on one member), so words cross between instances through the internal topic.
    const apps = [1, 2].map(
      () =>
        new StreamsApp(topology, {
          brokers: infra.brokers,
          db,
          metricsPrefix: 'commerce_',
          log: quietLog,
          sessionTimeoutMs: 6_000,
        }),
    )
    for (const app of apps) {
      await app.start()
      cleanups.push(() => app.stop())
    }
    const runtimes = apps.map((app) => app.runtime!)

    // Created before the partition checks, sized by its upstream topic (4 partitions), DLQ beside it.
    const created = await infra.admin.metadata({ topics: [internal, `${internal}.dlq`] })
    expect(created.topics.get(internal)?.partitionsCount).toBe(4)
    expect(created.topics.get(`${internal}.dlq`)?.partitionsCount).toBe(4)
    // The internal topic is de-duplicated, and its duplicates series exist from the start (at 0), so
    // an alert on increase() would see the first re-sent copy.
    const series = new RegExp(
      `commerce_records_duplicates_total\\{topic="${internal}",partition="\\d"\\}`,
      'g',
    )
    expect((await apps[0]!.registry.metrics()).match(series)).toHaveLength(4)

    const expected = expectedCounts(lines)
    const occurrences = [...expected.values()].reduce((a, b) => a + b)
    await waitUntil(
      'every line consumed',
      async () => (await committedTotal(db, applicationId, input)) === lines.length,
    )
    await waitUntil(
      'every word consumed from the internal topic',
      async () => (await committedTotal(db, applicationId, internal)) === occurrences,
    )
    await waitUntil('outbox drained', async () => (await apps[0]!.relay.backlog()) === 0)

    const { rows } = await sql<{ key: string; value: number }>`
      select key, value from store_entries
      where application_id = ${applicationId} and store = 'word-counts'`.execute(db)
    expect(Object.fromEntries(rows.map((r) => [r.key, r.value]))).toEqual(Object.fromEntries(expected))

    // Every count of every word published, once per output id, in order per word.
    const published = await kcatConsume(infra.brokers, output)
    const byId = new Map(published.map((r) => [headerValue(r.headers, topology.outputIdHeader), r]))
    expect(byId.size).toBe(occurrences)
    const seen = new Map<string, number[]>()
    for (const r of byId.values()) seen.set(r.key, [...(seen.get(r.key) ?? []), Number(r.value)])
    for (const [word, n] of expected)
      expect(seen.get(word), word).toEqual(Array.from({ length: n }, (_, i) => i + 1))
    for (const runtime of runtimes) {
      expect(runtime.problem()).toBeUndefined()
      expect(runtime.status().tasks.length, runtime.instanceId).toBeGreaterThan(0)
    }
    const tasks = runtimes.flatMap((r) => r.status().tasks.map((t) => t.task)).sort()
    expect(tasks).toEqual([
      ...[0, 1, 2, 3].map((p) => `by-word-processor/${p}`),
      ...[0, 1, 2, 3].map((p) => `lines-processor/${p}`),
    ])
  })
})
