/**
 * Two processors joined by a topic under kill -9: the router re-keys every input record onto `middle`
 * through the outbox, the grouper counts per group. Publication is at least once, so `middle` holds
 * re-sent copies — those a kill between the relay's send and its delete leaves, and, so that every
 * run has some, copies this test re-sends itself the way the relay would (same bytes, same output id,
 * same partition). Every count must still be exact: each output applied once downstream.
 */
import { Producer, stringSerializers } from '@platformatic/kafka'
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { outboxBacklog } from '../../topology/postgres/outbox-relay.ts'
import { groupOf } from '../support/chain-topology.ts'
import { pause } from '../support/chaos-fixtures.ts'
import { type Child, spawnChild } from '../support/child.ts'
import { useInfra } from '../support/infra.ts'
import { headerValue, kcatConsume } from '../support/kcat.ts'
import {
  committedTotal,
  countedMessages,
  migratedDb,
  produce,
  waitUntil,
} from '../support/runtime-fixtures.ts'

const OUTPUT_ID = 'streams.output-id'
const infra = useInfra()
const children: Child[] = []
afterAll(async () => {
  for (const child of children) await child.stop('SIGKILL')
})

/** Re-sends `count` random records already on `topic`, as the relay re-sends a round it could not delete. */
async function resend(topic: string, count: number): Promise<number> {
  const published = await kcatConsume(infra.brokers, topic)
  const picked = Array.from(
    { length: Math.min(count, published.length) },
    () => published[Math.floor(Math.random() * published.length)]!,
  )
  const producer = new Producer({
    clientId: `resender-${process.pid}`,
    bootstrapBrokers: infra.brokers,
    serializers: stringSerializers,
  })
  try {
    await producer.send({
      messages: picked.map((r) => ({
        topic,
        key: r.key,
        value: r.value,
        partition: r.partition,
        headers: { [OUTPUT_ID]: headerValue(r.headers, OUTPUT_ID)! },
      })),
    })
  } finally {
    await producer.close()
  }
  return picked.length
}

describe('two processors joined by a topic under kill -9', () => {
  it('should count every group exactly and apply each routed record once, despite outbox re-sends', async () => {
    const input = await infra.createTopic('chain-in')
    const middle = await infra.createTopic('chain-mid')
    const output = await infra.createTopic('chain-out')
    await infra.admin.createTopics({ topics: [`${input}.dlq`, `${middle}.dlq`], partitions: 3, replicas: 1 })
    const applicationId = infra.name('chain-app')
    const db = await migratedDb(infra.databaseUrl)
    const produced = new Map<string, number>()
    await produce(infra.brokers, countedMessages(input, 200, 60, produced), 2_000)
    const total = [...produced.values()].reduce((a, b) => a + b, 0)
    const expected = new Map<string, number>()
    for (const [key, n] of produced) expected.set(groupOf(key), (expected.get(groupOf(key)) ?? 0) + n)

    let instances = 0
    const start = () => {
      const child = spawnChild('test/support/runtime-child.ts', {
        BROKERS: infra.brokers.join(','),
        DATABASE_URL: infra.databaseUrl,
        APP_ID: applicationId,
        INPUT: input,
        MIDDLE: middle,
        OUTPUT: output,
        INSTANCE: `instance-${++instances}`,
        MAX_BATCH: '50',
      })
      children.push(child)
      return child
    }
    const grouped = () => committedTotal(db, applicationId, middle)

    const kills: number[] = []
    let injected = 0
    const routed = () => committedTotal(db, applicationId, input)
    for (let i = 0; i < 4; i++) {
      const child = start()
      // The first kill lands once the router has committed, at once: waiting for the grouper too, a
      // quiet machine had the router through all 12,000 inputs before it (a CI dry run on 2026-12-03).
      // The others once the grouper is making progress, at a random moment: mid-batch, mid-commit or
      // mid-relay.
      const [what, progress] = i === 0 ? ['router progress', routed] : ['grouper progress', grouped]
      const before = await progress()
      await waitUntil(what, async () => (await progress()) > before, 60_000).catch((error) => {
        throw new Error(`${error.message}\nchild ${i} printed:\n${child.output().slice(-3_000)}`)
      })
      await pause(i === 0 ? Math.floor(Math.random() * 50) : 100 + Math.floor(Math.random() * 700))
      child.signal('SIGKILL')
      await child.stop()
      kills.push(await routed())
      injected += await resend(middle, 100)
    }
    // The router may finish its input before the last kills (they still land mid-grouping, and each is
    // followed by re-sent copies); the first must land while it is routing. (A fresh-clone run saw the
    // router through all 12,000 inputs before the fourth kill.)
    expect(kills[0], 'the first kill happened before the router was through the input').toBeLessThan(total)

    start()
    await waitUntil('input routed', async () => (await routed()) === total, 180_000)
    let onMiddle = 0
    await waitUntil(
      'outbox drained and every record on middle consumed',
      async () => {
        if ((await outboxBacklog(db)) > 0) return false
        onMiddle = (await kcatConsume(infra.brokers, middle)).length
        return (await grouped()) === onMiddle
      },
      180_000,
    )

    const { rows } = await sql<{ key: string; value: number }>`
      select key, value from store_entries where application_id = ${applicationId} and store = 'group-counts'`.execute(
      db,
    )
    expect(new Map(rows.map((r) => [r.key, r.value])), 'every group counted exactly once per input').toEqual(
      expected,
    )

    const middleIds = new Set(
      (await kcatConsume(infra.brokers, middle)).map((r) => headerValue(r.headers, OUTPUT_ID)),
    )
    expect(middleIds.size, 'one routed record per input record').toBe(total)
    expect(
      onMiddle - total,
      'copies on middle (re-sent by the relay or by this test)',
    ).toBeGreaterThanOrEqual(injected)

    // Downstream of the grouper: after de-duplication by output id, counts 1..n once per group.
    const counted = new Map<string, { key: string; count: number }>()
    for (const r of await kcatConsume(infra.brokers, output))
      counted.set(headerValue(r.headers, OUTPUT_ID)!, JSON.parse(r.value))
    const seen = new Map<string, number[]>()
    for (const { key, count } of counted.values()) seen.set(key, [...(seen.get(key) ?? []), count])
    for (const [group, n] of expected)
      expect(
        (seen.get(group) ?? []).sort((a, b) => a - b),
        group,
      ).toEqual(Array.from({ length: n }, (_, i) => i + 1))

    console.info(
      `killed (kill -9 x4) at routed offsets ${kills.join(', ')}; middle holds ${onMiddle} records for ${total} inputs ` +
        `(${onMiddle - total} copies, ${injected} re-sent by the test); every copy skipped`,
    )
    await db.destroy()
  })
})
