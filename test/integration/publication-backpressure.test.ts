/**
 * Publication backpressure on the real broker and PostgreSQL: with the relay on the tasks' thread or
 * on its worker thread, and rounds far smaller than what the tasks commit, the fetch loop waits for the relay (holdFetch), so the
 * outbox stays within a few rounds of the commits instead of growing with the backlog — and nothing is
 * lost or repeated on the way.
 */
import { afterAll, describe, expect, it } from 'vitest'
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

describe('publication backpressure', () => {
  it.each(['inline', 'thread'] as const)(
    'should keep the outbox within a few relay rounds while tasks could commit far faster, and publish every output once (relay %s)',
    async (placement) => {
      const input = await infra.createTopic(`bp-events-${placement}`)
      const output = await infra.createTopic(`bp-counted-${placement}`)
      const applicationId = infra.name(`bp-app-${placement}`)
      const db = await migratedDb(infra.databaseUrl)
      cleanups.push(() => db.destroy())

      const keys = 100
      const total = 6_000
      await produce(
        infra.brokers,
        Array.from({ length: total }, (_, n) => {
          const key = `k${n % keys}`
          return { topic: input, key, value: JSON.stringify({ key, n }) }
        }),
        // Small producer batches: a fetch returns whole batches, and the hold acts between fetches.
        30,
      )

      const relayBatchRows = 10
      const app = new StreamsApp(countingTopology({ applicationId, input, output }), {
        brokers: infra.brokers,
        db,
        relay: placement,
        databaseUrl: infra.databaseUrl, // the worker thread's own pool (relay 'thread')
        relayBatchRows,
        // ~30 held records a task: the fetch loop, not the queues, is what the relay holds back.
        maxQueueBytes: 16_384,
        metricsPrefix: 'commerce_',
        log: quietLog,
        sessionTimeoutMs: 6_000,
      })
      await app.start()
      cleanups.push(() => app.stop())

      let maxBacklog = 0
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          maxBacklog = Math.max(maxBacklog, await app.relay.backlog())
          await new Promise((r) => setTimeout(r, 10))
        }
      })()
      await waitUntil(
        'all records committed',
        async () => (await committedTotal(db, applicationId, input)) === total,
      )
      await waitUntil('outbox drained', async () => (await app.relay.backlog()) === 0)
      sampling = false
      await sampler

      // Without the hold the tasks commit thousands ahead of 10-record rounds (the test fails there);
      // with it, at most the tasks' queues, a batch in flight and a round or two are unpublished.
      expect(maxBacklog).toBeGreaterThan(0)
      expect(maxBacklog).toBeLessThan(400)
      const held = /^commerce_fetch_held_seconds_total (\S+)$/m.exec(await app.registry.metrics())
      expect(Number(held?.[1])).toBeGreaterThan(0)

      const published = await kcatConsume(infra.brokers, output)
      expect(published).toHaveLength(total)
      const counts = new Map<string, number[]>()
      for (const r of published) {
        const { key, count } = JSON.parse(r.value) as { key: string; count: number }
        counts.set(key, [...(counts.get(key) ?? []), count])
      }
      for (const seen of counts.values())
        expect(seen).toEqual(Array.from({ length: total / keys }, (_, i) => i + 1))
      await app.stop()
    },
  )
})
