/**
 * The outbox relay on the real broker and PostgreSQL: rounds sized by bytes, records the broker can
 * never take moved aside with their cause, and DLQ copies that keep every byte of the original.
 */
import { Consumer, MessagesStreamModes } from '@platformatic/kafka'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_OUTPUT_ID_HEADER } from '../../topology/builder.ts'
import { OutboxRelay } from '../../topology/postgres/outbox-relay.ts'
import type { OutboxRecord } from '../../topology/runtime/backend.ts'
import { deadLetter, Headers } from '../../topology/runtime/outputs.ts'
import { useInfra } from '../support/infra.ts'
import { useOutboxCommits } from '../support/outbox-commits.ts'
import { testMetrics, waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()
// Each test's relay stops with it: relays share the database's lock, and a test reads its own metrics.
const relays: OutboxRelay[] = []
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop()
})

const outbox = useOutboxCommits(infra.databaseUrl, 'relay-test')
const commitOutputs = outbox.commitOutputs

function startRelay(options: { maxBatchBytes?: number } = {}) {
  const { registry, metrics } = testMetrics()
  const relay = new OutboxRelay({
    db: outbox.db,
    brokers: infra.brokers,
    clientId: infra.name('relay'),
    metrics,
    ...options,
  })
  relay.start()
  relays.push(relay)
  return { relay, registry }
}

async function drained(relay: OutboxRelay): Promise<void> {
  await waitUntil('the outbox to drain', async () => (await relay.backlog()) === 0, 30_000).catch((error) => {
    throw new Error(`${error.message}; the relay's last error: ${relay.error}`)
  })
}

interface Received {
  key: Buffer | null
  value: Buffer
  headers: Array<[string, Buffer]>
  partition: number
}

/** Reads `count` records of `topic` from the beginning, as raw bytes. */
async function readTopic(topic: string, count: number, partitions = 1): Promise<Received[]> {
  const consumer = new Consumer({
    clientId: infra.name('consumer'),
    groupId: infra.name('group'),
    bootstrapBrokers: infra.brokers,
    maxBytes: 8 * 1024 * 1024,
  })
  const received: Received[] = []
  try {
    const stream = await consumer.consume({
      topics: [topic],
      autocommit: false,
      mode: MessagesStreamModes.MANUAL,
      offsets: Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0n })),
      maxWaitTime: 200,
    })
    const deadline = setTimeout(
      () => stream.destroy(new Error(`only ${received.length}/${count} arrived`)),
      30_000,
    )
    for await (const m of stream) {
      received.push({
        key: m.key === undefined || m.key === null || m.key.length === 0 ? null : Buffer.from(m.key),
        value: Buffer.from(m.value),
        headers: [...m.headers].map(([k, v]) => [k.toString('utf8'), Buffer.from(v)]),
        partition: m.partition,
      })
      if (received.length === count) break
    }
    clearTimeout(deadline)
  } finally {
    await consumer.close(true)
  }
  return received
}

const header = (r: Received, name: string) => r.headers.find(([k]) => k === name)?.[1]
const seqOf = (r: Received) => header(r, 'seq')?.toString()

describe('OutboxRelay on the real broker and PostgreSQL', () => {
  it('should publish large DLQ copies and thousands of small outputs of one round (regression: MESSAGE_TOO_LARGE retried forever)', async () => {
    const topic = await infra.createTopic('relay-sized', 1)
    const big = (n: number): OutboxRecord => ({
      topic,
      key: Buffer.from('big'),
      value: Buffer.alloc(300_000, n),
      headers: { seq: `big-${n}` },
    })
    const small = (n: number): OutboxRecord => ({
      topic,
      key: Buffer.from(`k${n % 7}`),
      value: Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(200) })),
      headers: { seq: `small-${n}` },
    })
    // One partition's share of one 5,000-row round: 1.2 MB of large copies and ~1 MB of small rows.
    await commitOutputs([
      big(0),
      big(1),
      ...Array.from({ length: 4_000 }, (_, n) => small(n)),
      big(2),
      big(3),
    ])

    const { relay } = startRelay()
    await drained(relay)
    const got = await readTopic(topic, 4_004)
    expect(got.map(seqOf)).toEqual([
      'big-0',
      'big-1',
      ...Array.from({ length: 4_000 }, (_, n) => `small-${n}`),
      'big-2',
      'big-3',
    ])
    expect(got[0]!.value.equals(Buffer.alloc(300_000, 0))).toBe(true)
  })

  it('should move a record over the size limit aside with its cause and publish the rows after it', async () => {
    const topic = await infra.createTopic('relay-poison', 1)
    const row = (seq: string, size: number): OutboxRecord => ({
      topic,
      key: Buffer.from('k'),
      value: Buffer.alloc(size, 7),
      headers: { seq },
    })
    await commitOutputs([row('before', 10), row('huge', 2_000_000), row('after-1', 10), row('after-2', 10)])

    const { relay, registry } = startRelay()
    await drained(relay)
    expect((await readTopic(topic, 3)).map(seqOf)).toEqual(['before', 'after-1', 'after-2'])
    const rejected = await outbox.db
      .selectFrom('outbox_rejected')
      .select(['topic', 'key', 'value', 'reason', 'cause'])
      .execute()
    expect(rejected).toEqual([
      {
        topic,
        key: Buffer.from('k'),
        value: Buffer.alloc(2_000_000, 7),
        reason: 'MESSAGE_TOO_LARGE',
        cause: expect.stringMatching(/2000\d{3} bytes.*1048588/),
      },
    ])
    const counted = await registry.getSingleMetric('commerce_outbox_rejected_total')?.get()
    expect(counted?.values).toEqual([{ labels: { topic, reason: 'MESSAGE_TOO_LARGE' }, value: 1 }])
    expect(relay.error).toBeUndefined()
  })

  it('should move aside a record the broker refuses though it fits the configured limit, and carry on', async () => {
    // The relay believes the broker takes 3 MB; the broker refuses anything over its 1 MB limit.
    const topic = await infra.createTopic('relay-refused', 1)
    const row = (seq: string, size: number): OutboxRecord => ({
      topic,
      key: Buffer.from(seq),
      value: Buffer.alloc(size, 1),
      headers: { seq },
    })
    await commitOutputs([row('a', 10), row('b', 10), row('refused', 1_500_000), row('c', 10), row('d', 10)])

    const { relay } = startRelay({ maxBatchBytes: 3_000_000 })
    await drained(relay)
    // At least once: a group that failed as a whole may have been written in part, so the rows
    // before the culprit can repeat, but every row arrives, in order, and the culprit does not.
    const seqs = (await readTopic(topic, 4)).map(seqOf)
    expect(seqs.filter((s) => s === 'c' || s === 'd')).toEqual(['c', 'd'])
    expect(new Set(seqs)).toEqual(new Set(['a', 'b', 'c', 'd']))
    const rejected = await outbox.db
      .selectFrom('outbox_rejected')
      .select(['key', 'reason', 'cause'])
      .where('topic', '=', topic)
      .execute()
    // The broker's verdict, not the relay's own size check.
    expect(rejected).toEqual([
      {
        key: Buffer.from('refused'),
        reason: 'MESSAGE_TOO_LARGE',
        cause: expect.stringMatching(/^MESSAGE_TOO_LARGE: /),
      },
    ])
  })

  it('should move aside a record for a topic that cannot exist, and carry on', async () => {
    const topic = await infra.createTopic('relay-topic', 1)
    const row = (to: string, seq: string): OutboxRecord => ({
      topic: to,
      key: Buffer.from('k'),
      value: Buffer.from(seq),
      headers: { seq },
    })
    await commitOutputs([row(topic, 'x1'), row('no such topic!', 'bad'), row(topic, 'x2')])

    const { relay } = startRelay()
    await drained(relay)
    expect((await readTopic(topic, 2)).map(seqOf)).toEqual(['x1', 'x2'])
    const rejected = await outbox.db
      .selectFrom('outbox_rejected')
      .select(['value', 'reason'])
      .where('topic', '=', 'no such topic!')
      .execute()
    expect(rejected).toEqual([{ value: Buffer.from('bad'), reason: 'INVALID_TOPIC_EXCEPTION' }])
  })

  it('should carry a DLQ copy of a key with NUL and invalid UTF-8 bytes and a header with NUL to the DLQ byte-exact', async () => {
    const source = await infra.createTopic('relay-bytes', 1)
    const dlq = `${source}.dlq`
    await infra.admin.createTopics({ topics: [dlq], partitions: 1, replicas: 1 })
    const key = Buffer.from([0x6b, 0x00, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80])
    const value = Buffer.from([0x7b, 0x00, 0xfe, 0xff, 0x22])
    const message = `bad \u0000 value "\ud800" ${'é'.repeat(2_000)}`
    const copy = deadLetter(
      { applicationId: 'app', outputIdHeader: DEFAULT_OUTPUT_ID_HEADER },
      {
        topic: source,
        partition: 0,
        offset: 41n,
        key,
        value,
        timestamp: 1_700_000_000_000,
        headers: { trace: 'a\u0000b' },
      },
      'VALIDATION_FAILED',
      message,
    )
    await commitOutputs([copy])

    const { relay } = startRelay()
    await drained(relay)
    const [got] = await readTopic(dlq, 1)
    expect(got!.key).toEqual(key)
    expect(got!.value).toEqual(value)
    expect(header(got!, 'trace')).toEqual(Buffer.from('a\u0000b'))
    expect(header(got!, Headers.ERROR_CODE)?.toString()).toBe('VALIDATION_FAILED')
    const error = header(got!, Headers.ERROR_MESSAGE)!
    expect(error.length).toBeLessThanOrEqual(1_000)
    expect(error.toString('utf8')).toMatch(/^bad \\u0000 value "\uFFFD" éé/)
    expect(Buffer.from(error.toString('utf8'), 'utf8')).toEqual(error) // valid UTF-8, cut at a boundary
  })
})

describe('OutboxRelay over batch rows (one outbox_batches row per committed batch)', () => {
  it('should end a round inside a batch row, remember how far it got, and go on from there without a repeat', async () => {
    const topic = await infra.createTopic('relay-inside', 1)
    const row = (n: number): OutboxRecord => ({
      topic,
      key: Buffer.from('k'),
      value: Buffer.alloc(300, n),
      headers: { seq: `r${n}` },
    })
    await commitOutputs(Array.from({ length: 10 }, (_, n) => row(n)))
    // Rounds of about three records: a relay stopped after one round has sent the first three only.
    const relay = new OutboxRelay({
      db: outbox.db,
      brokers: infra.brokers,
      clientId: infra.name('relay'),
      maxBatchBytes: 1_200,
    })
    relays.push(relay)
    const first = await relay.publishOnce()
    expect(first).toBeGreaterThan(0)
    expect(first).toBeLessThan(10)
    const [stored] = await outbox.db
      .selectFrom('outbox_batches')
      .select(['record_count', 'published'])
      .execute()
    expect(stored).toEqual({ record_count: 10, published: first })
    expect(await relay.backlog()).toBe(10 - first)

    while ((await relay.publishOnce()) > 0) {}
    expect(await relay.backlog()).toBe(0)
    expect(await outbox.db.selectFrom('outbox_batches').select('id').execute()).toEqual([])
    expect((await readTopic(topic, 10)).map(seqOf)).toEqual(Array.from({ length: 10 }, (_, n) => `r${n}`))
  })

  it('should move aside a batch row it cannot read, with the cause, and publish the batches after it', async () => {
    const topic = await infra.createTopic('relay-unreadable', 1)
    await commitOutputs([{ topic, key: null, value: Buffer.from('before'), headers: { seq: 'before' } }])
    // What no relay wrote: a row another tool or a bad restore left behind.
    await sql`insert into outbox_batches (records, record_count) values (${Buffer.from('garbage')}, 3)`.execute(
      outbox.db,
    )
    await commitOutputs([{ topic, key: null, value: Buffer.from('after'), headers: { seq: 'after' } }])

    const { relay, registry } = startRelay()
    await drained(relay)
    expect((await readTopic(topic, 2)).map(seqOf)).toEqual(['before', 'after'])
    const rejected = await outbox.db
      .selectFrom('outbox_rejected')
      .select(['value', 'reason', 'cause'])
      .where('reason', '=', 'UNREADABLE_BATCH')
      .execute()
    expect(rejected).toEqual([
      {
        value: Buffer.from('garbage'),
        reason: 'UNREADABLE_BATCH',
        cause: expect.stringMatching(/version 103/),
      },
    ])
    const counted = await registry.getSingleMetric('commerce_outbox_rejected_total')?.get()
    expect(counted?.values).toEqual([{ labels: { topic: '', reason: 'UNREADABLE_BATCH' }, value: 1 }])
  })
})

describe('OutboxRelay backpressure (whenBehind, for the fetch loop holdFetch)', () => {
  it('should say it is behind after a full round, settle that after its next round, and stop when a round is not full', async () => {
    const topic = await infra.createTopic('relay-behind', 1)
    await commitOutputs(
      Array.from({ length: 25 }, (_, n) => ({ topic, key: null, value: Buffer.from(`v${n}`), headers: {} })),
    )
    const relay = new OutboxRelay({
      db: outbox.db,
      brokers: infra.brokers,
      clientId: infra.name('relay'),
      batchSize: 10,
    })
    relays.push(relay)
    expect(relay.whenBehind()).toBeUndefined() // no round yet: nothing known to be waiting

    expect(await relay.publishOnce()).toBe(10) // a full round: 15 more wait
    const behind = relay.whenBehind()
    expect(behind).toBeInstanceOf(Promise)
    let settled = false
    void behind?.then(() => {
      settled = true
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(settled).toBe(false) // only the next round settles it

    expect(await relay.publishOnce()).toBe(10)
    await behind
    expect(relay.whenBehind()).toBeInstanceOf(Promise) // full again: 5 wait
    expect(await relay.publishOnce()).toBe(5)
    expect(relay.whenBehind()).toBeUndefined() // caught up
    expect(await relay.backlog()).toBe(0)
  })
})

describe('OutboxRelay readiness', () => {
  it('should keep rows through a broker outage and report the relay failing once it lasts', async () => {
    const topic = infra.name('relay-outage')
    await commitOutputs([{ topic, key: null, value: Buffer.from('x'), headers: {} }])
    // Nothing listens on port 1: every send fails as it does while the broker is down.
    const relay = new OutboxRelay({
      db: outbox.db,
      brokers: ['127.0.0.1:1'],
      clientId: infra.name('relay'),
      failingAfterMs: 5_000,
    })
    relay.start()
    relays.push(relay)
    await waitUntil('a failed round', async () => relay.error !== undefined)
    expect(relay.problem()).toBeUndefined() // a blip does not flap readiness
    expect(relay.problem(Date.now() + 6_000)).toMatch(/^publishing has failed for \d+ s \(\d+ attempts\): /)
    // Transient: nothing is moved aside, the row waits in the outbox.
    expect(await relay.backlog()).toBe(1)
    expect(
      await outbox.db.selectFrom('outbox_rejected').select('id').where('topic', '=', topic).execute(),
    ).toEqual([])
  })
})
