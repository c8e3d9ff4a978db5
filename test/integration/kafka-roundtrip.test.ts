import {
  Consumer,
  compatibilityPartitioner,
  MessagesStreamModes,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { useInfra } from '../support/infra.ts'
import { kcatConsume, kcatProduce } from '../support/kcat.ts'

const infra = useInfra()
const KEYS = 40
const PER_KEY = 25

interface Received {
  key: string
  partition: number
  offset: bigint
  value: { key: string; seq: number }
}

function producer() {
  return new Producer({
    clientId: infra.name('producer'),
    bootstrapBrokers: infra.brokers,
    serializers: stringSerializers,
    partitioner: compatibilityPartitioner,
    idempotent: true,
  })
}

/** Consumes `count` records in a consumer group, starting every partition at the offsets the test gives. */
async function consumeFrom(topic: string, startAt: bigint, count: number): Promise<Received[]> {
  const consumer = new Consumer({
    clientId: infra.name('consumer'),
    groupId: infra.name('group'),
    bootstrapBrokers: infra.brokers,
    deserializers: stringDeserializers,
  })
  const received: Received[] = []
  try {
    const stream = await consumer.consume({
      topics: [topic],
      autocommit: false,
      mode: MessagesStreamModes.MANUAL,
      offsets: [0, 1, 2].map((partition) => ({ topic, partition, offset: startAt })),
      maxWaitTime: 200,
    })
    const deadline = setTimeout(
      () => stream.destroy(new Error(`only ${received.length}/${count} arrived`)),
      30_000,
    )
    for await (const message of stream) {
      received.push({
        key: message.key,
        partition: message.partition,
        offset: message.offset,
        value: JSON.parse(message.value),
      })
      if (received.length === count) break
    }
    clearTimeout(deadline)
  } finally {
    await consumer.close(true)
  }
  return received
}

describe('Kafka round trip on the real broker', () => {
  it('should deliver every keyed record once, in per-partition and per-key order, from test-supplied offsets', async () => {
    const topic = await infra.createTopic('roundtrip')
    const messages = []
    for (let seq = 0; seq < PER_KEY; seq++) {
      for (let k = 0; k < KEYS; k++) {
        const key = `user-${k}`
        messages.push({ topic, key, value: JSON.stringify({ key, seq }) })
      }
    }
    const p = producer()
    // Several sends, so order across produce requests is covered too.
    for (let i = 0; i < messages.length; i += 100) await p.send({ messages: messages.slice(i, i + 100) })
    await p.close()

    const received = await consumeFrom(topic, 0n, KEYS * PER_KEY)

    const seen = new Set(received.map((r) => `${r.value.key}/${r.value.seq}`))
    expect(seen.size).toBe(KEYS * PER_KEY)
    const lastOffset = new Map<number, bigint>()
    const lastSeq = new Map<string, number>()
    const partitionOf = new Map<string, number>()
    for (const r of received) {
      expect(r.offset).toBeGreaterThan(lastOffset.get(r.partition) ?? -1n)
      lastOffset.set(r.partition, r.offset)
      expect(r.value.seq).toBe((lastSeq.get(r.key) ?? -1) + 1)
      lastSeq.set(r.key, r.value.seq)
      expect(partitionOf.get(r.key) ?? r.partition).toBe(r.partition)
      partitionOf.set(r.key, r.partition)
    }
    // 40 keys over 3 partitions: each partition got some, or the key was ignored.
    expect(new Set(partitionOf.values()).size).toBe(3)

    // Starting from offset 10 in every partition skips exactly the first 10 records of each.
    const fromTen = await consumeFrom(topic, 10n, KEYS * PER_KEY - 30)
    for (const partition of [0, 1, 2]) {
      const offsets = fromTen.filter((r) => r.partition === partition).map((r) => r.offset)
      expect(offsets[0]).toBe(10n)
    }
  })

  it('should put every key on the same partition as kcat (Java murmur2 partitioner)', async () => {
    const ours = await infra.createTopic('partitioner-ours')
    const theirs = await infra.createTopic('partitioner-kcat')
    const keys = Array.from({ length: 200 }, (_, i) => (i % 2 ? `coupon-${i}` : String(i * 7919)))

    const p = producer()
    await p.send({ messages: keys.map((key) => ({ topic: ours, key, value: '{}' })) })
    await p.close()
    await kcatProduce(
      infra.brokers,
      theirs,
      keys.map((key) => ({ key, value: '{}' })),
    )

    const partitionsBy = async (topic: string) =>
      new Map((await kcatConsume(infra.brokers, topic)).map((r) => [r.key, r.partition]))
    const oursByKey = await partitionsBy(ours)
    const kcatByKey = await partitionsBy(theirs)
    expect(oursByKey.size).toBe(keys.length)
    expect(kcatByKey.size).toBe(keys.length)
    for (const key of keys) expect(oursByKey.get(key), key).toBe(kcatByKey.get(key))
  })
})
