/**
 * The runtime's fetch path against the real broker: a partition whose stored offset fell out of the log,
 * a source topic that gained partitions, and transaction markers from an upstream transactional producer.
 */
import { Producer, stringSerializers } from '@platformatic/kafka'
import { type Kysely, sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import type { Database } from '../../state/schema.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import { countingTopology } from '../support/counting-topology.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb, produce, quietLog, waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function setup(partitions = 3, maxQueueBytes?: number) {
  const input = await infra.createTopic('events', partitions)
  const output = await infra.createTopic('counted')
  const applicationId = infra.name('app')
  const db = await migratedDb(infra.databaseUrl)
  cleanups.push(() => db.destroy())
  const runtime = () => {
    const app = new StreamsApp(countingTopology({ applicationId, input, output }), {
      brokers: infra.brokers,
      db,
      metricsPrefix: 'commerce_',
      log: quietLog,
      sessionTimeoutMs: 6_000,
      ...(maxQueueBytes ? { maxQueueBytes } : {}),
    })
    // The relay is not started: these tests read what the runtime committed, not what it published.
    const r = app.runtime!
    cleanups.push(() => r.stop())
    return { runtime: r, registry: app.registry }
  }
  return { input, applicationId, db, runtime }
}

/** The committed next offset of one partition, or -1 when none is stored. */
async function storedOffset(db: Kysely<Database>, app: string, topic: string, partition: number) {
  const { rows } = await sql<{ next: string }>`
    select next_offset::text as next from stream_offsets
    where application_id = ${app} and topic = ${topic} and partition = ${partition}`.execute(db)
  return rows[0] ? Number(rows[0].next) : -1
}

/** Waits until a partition's committed next offset is `expected`; a timeout names the last one seen. */
async function offsetReaches(
  db: Kysely<Database>,
  app: string,
  topic: string,
  partition: number,
  expected: number,
) {
  await waitUntil(`${topic}[${partition}] committed at ${expected}`, async () => {
    const got = await storedOffset(db, app, topic, partition)
    if (got !== expected) throw new Error(`committed at ${got}`)
    return true
  })
}

async function storedCount(db: Kysely<Database>, app: string, key: string) {
  const { rows } = await sql<{ value: number }>`
    select value from store_entries where application_id = ${app} and store = 'counts' and key = ${key}`.execute(
    db,
  )
  return rows[0]?.value
}

function events(topic: string, partition: number, count: number) {
  const key = `p${partition}`
  return Array.from({ length: count }, (_, n) => ({
    topic,
    partition,
    key,
    value: JSON.stringify({ key, n }),
  }))
}

describe('StreamsRuntime fetch path on the real broker and PostgreSQL', () => {
  it('should get records larger than its fetch asks through, in every partition, and the small ones around them', async () => {
    // A 64 KiB queue bound: the first fetch asks ~700 bytes a partition, far less than a 300 KB record,
    // so the broker answers those partitions empty (it oversteps a partition's limit only for the first
    // data of a response); the task must then ask for one record's worth.
    const { input, applicationId: app, db, runtime } = await setup(3, 64 * 1024)
    const big = (p: number, n: number) => ({
      topic: input,
      partition: p,
      key: `p${p}`,
      value: JSON.stringify({ key: `p${p}`, n, pad: 'x'.repeat(300_000) }),
    })
    await produce(
      infra.brokers,
      [0, 1, 2].flatMap((p) => events(input, p, 3)),
    )
    await produce(
      infra.brokers,
      [0, 1, 2].flatMap((p) => [big(p, 3), big(p, 4)]),
      1,
    )
    await produce(
      infra.brokers,
      [0, 1, 2].flatMap((p) => events(input, p, 3)),
    )
    const { runtime: r } = runtime()
    await r.start()
    for (const p of [0, 1, 2]) await offsetReaches(db, app, input, p, 8)
    for (const p of [0, 1, 2]) expect(await storedCount(db, app, `p${p}`)).toBe(8)
    await r.stop()
  })

  it('should resume a partition whose stored offset was deleted from the log start, count the skip, and keep the other partitions flowing', async () => {
    const { input, applicationId: app, db, runtime } = await setup()
    await produce(
      infra.brokers,
      [0, 1, 2].flatMap((p) => events(input, p, 5)),
    )
    const first = runtime()
    await first.runtime.start()
    for (const p of [0, 1, 2]) await offsetReaches(db, app, input, p, 5)
    await first.runtime.stop()

    // While the runtime is down the log moves on and retention deletes past the stored offset (5):
    // partition 1 keeps 3 records after its new start, partition 2 keeps none.
    await produce(
      infra.brokers,
      [0, 1, 2].flatMap((p) => events(input, p, 10)),
    )
    await infra.admin.deleteRecords({
      topics: [
        {
          name: input,
          partitions: [
            { partition: 1, offset: 12n },
            { partition: 2, offset: 15n },
          ],
        },
      ],
    })

    const second = runtime()
    await second.runtime.start()
    await waitUntil(
      'all three tasks fetching',
      async () =>
        second.runtime.status().tasks.every((t) => t.status === 'running') &&
        second.runtime.status().tasks.length === 3,
    )
    // Records arriving while partitions 1 and 2 are in the same fetch as partition 0.
    await produce(infra.brokers, events(input, 0, 5))
    await offsetReaches(db, app, input, 0, 20)
    // The jump is committed, so a restart starts from the log start instead of the same error.
    await offsetReaches(db, app, input, 1, 15)
    await offsetReaches(db, app, input, 2, 15)
    expect(await storedCount(db, app, 'p0')).toBe(20)
    expect(await storedCount(db, app, 'p1')).toBe(5 + 3)
    expect(await storedCount(db, app, 'p2')).toBe(5)
    const text = await second.registry.metrics()
    expect(text).toContain(`commerce_records_skipped_total{topic="${input}",partition="1"} 7`)
    expect(text).toContain(`commerce_records_skipped_total{topic="${input}",partition="2"} 10`)
    await waitUntil('lag 0 everywhere', async () => {
      const now = await second.registry.metrics()
      return [0, 1, 2].every((p) =>
        now.includes(`commerce_partition_lag_records{topic="${input}",partition="${p}"} 0`),
      )
    })
    expect(second.runtime.problem()).toBeUndefined()
    await second.runtime.stop()
  })

  it('should refuse to start when a source topic has more partitions than its stored state was built with', async () => {
    const { input, runtime } = await setup(2)
    const first = runtime()
    await first.runtime.start()
    await first.runtime.stop()

    await infra.admin.createPartitions({ topics: [{ name: input, count: 3 }] })
    // The new partition reaches the brokers' metadata a moment after the call returns (a run started
    // the second runtime before it showed, which then saw 2 and rightly started).
    await waitUntil(`${input} has 3 partitions`, async () => {
      const metadata = await infra.admin.metadata({ topics: [input] })
      return metadata.topics.get(input)?.partitionsCount === 3
    })
    const second = runtime()
    await expect(second.runtime.start()).rejects.toThrow(
      new RegExp(`${input}.*stored state was built with 2 partitions.*now has 3`),
    )
  })

  it('should move past an upstream transaction marker (lag 0) and never process an aborted transaction', async () => {
    const { input, applicationId: app, db, runtime } = await setup()
    const producer = new Producer({
      clientId: infra.name('tx-producer'),
      bootstrapBrokers: infra.brokers,
      serializers: stringSerializers,
      transactionalId: infra.name('tx'),
      idempotent: true,
    })
    cleanups.push(() => producer.close())
    const inTransaction = async (messages: ReturnType<typeof events>, commit: boolean) => {
      const tx = await producer.beginTransaction()
      await tx.send({ messages })
      await (commit ? tx.commit() : tx.abort())
    }
    // Partition 0: 3 committed, 2 aborted, 1 committed; the log ends with a commit marker.
    await inTransaction(events(input, 0, 3), true)
    await inTransaction(events(input, 0, 2), false)
    await inTransaction(events(input, 0, 1), true)
    // The coordinator writes a transaction's marker into the partition after it answers the commit, so
    // the log end reaches its last offset a moment later (a fresh-clone run read 8 here).
    const end = 3 + 1 + 2 + 1 + 1 + 1
    await waitUntil(`the log of ${input}[0] ends at ${end}`, async () => {
      const [latest] = await infra.admin.listOffsets({
        topics: [{ name: input, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
      })
      return Number(latest!.partitions[0]!.offset) === end
    })

    const { runtime: r, registry } = runtime()
    await r.start()
    await offsetReaches(db, app, input, 0, end)
    expect(await storedCount(db, app, 'p0')).toBe(4)
    await waitUntil('lag gauge 0', async () =>
      (await registry.metrics()).includes(`commerce_partition_lag_records{topic="${input}",partition="0"} 0`),
    )
    await r.stop()
  })
})
