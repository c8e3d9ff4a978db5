/** Reading topics back with the runtime's own Fetcher: ranges of offsets, or a whole topic in log order. */
import { randomUUID } from 'node:crypto'
import { Consumer } from '@platformatic/kafka'
import type { RawRecord } from '../../../topology/record.ts'
import { Fetcher } from '../../../topology/runtime/fetcher.ts'

/** The runtime's own Fetcher, on a consumer of its own (`name`), for the length of `fn`. */
export async function withFetcher<T>(
  brokers: string[],
  name: string,
  topics: string[],
  fn: (fetcher: Fetcher) => Promise<T>,
): Promise<T> {
  const consumer = new Consumer({
    clientId: name,
    groupId: name,
    bootstrapBrokers: brokers,
    autocommit: false,
  })
  for (const topic of topics) consumer.topics.trackAll(topic)
  const fetcher = new Fetcher(consumer)
  try {
    await fetcher.metadata(topics)
    return await fn(fetcher)
  } finally {
    await consumer.close().catch(() => {})
  }
}

/** Reads partitions [from, to) with the runtime's Fetcher, handing each fetched batch to `onRecords`. */
export async function readRange(
  fetcher: Fetcher,
  topic: string,
  from: bigint[],
  to: bigint[],
  onRecords: (records: RawRecord[]) => void,
  timeoutMs: number,
): Promise<void> {
  const next = [...from]
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const targets = next.flatMap((offset, partition) =>
      offset < to[partition]! ? [{ topic, partition, offset }] : [],
    )
    if (targets.length === 0) return
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000}s reading ${topic}: at ${next.join(',')} of ${to.join(',')}`,
      )
    for (const f of await fetcher.fetch(targets)) {
      if (f.errorCode !== 0)
        throw new Error(`fetch ${topic}/${f.partition} failed with Kafka error ${f.errorCode}`)
      const last = f.records.at(-1)
      if (!last) continue
      next[f.partition] = last.offset + 1n
      onRecords(f.records)
    }
  }
}

/** Reads a whole topic (up to `ends`) back: each partition's records, parsed, in log order. */
export function readTopic<T>(
  brokers: string[],
  topic: string,
  ends: bigint[],
  parse: (value: Buffer, partition: number) => T,
): Promise<T[][]> {
  return withFetcher(brokers, `bench-reader-${randomUUID().slice(0, 8)}`, [topic], async (fetcher) => {
    const byPartition: T[][] = ends.map(() => [])
    await readRange(
      fetcher,
      topic,
      ends.map(() => 0n),
      ends,
      (records) => {
        for (const r of records) byPartition[r.partition]!.push(parse(r.value as Buffer, r.partition))
      },
      120_000,
    )
    return byPartition
  })
}

/** The timestamp of each record of a topic (up to `ends`) by its key; a key written twice keeps its first. */
export function readKeyTimestamps(
  brokers: string[],
  topic: string,
  ends: bigint[],
): Promise<Map<string, number>> {
  return withFetcher(brokers, `bench-reader-${randomUUID().slice(0, 8)}`, [topic], async (fetcher) => {
    const times = new Map<string, number>()
    const each = (records: RawRecord[]) => {
      for (const r of records) {
        const key = r.key?.toString('utf8') ?? ''
        if (!times.has(key)) times.set(key, r.timestamp)
      }
    }
    await readRange(
      fetcher,
      topic,
      ends.map(() => 0n),
      ends,
      each,
      120_000,
    )
    return times
  })
}
