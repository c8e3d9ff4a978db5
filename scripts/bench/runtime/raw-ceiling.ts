/**
 * The raw-ceiling scenario (in the parent process, before any runtime phase): how fast the records can
 * be read at all — with the runtime's own Fetcher in a tight loop over every partition (the exact client
 * path the runtime uses, minus processing), and with the client's own MessagesStream.
 */
import { performance } from 'node:perf_hooks'
import { Consumer, MessagesStreamModes } from '@platformatic/kafka'
import type { Rate } from '../harness/measure.ts'
import { type CpuUse, cpuMeter } from '../harness/measure.ts'
import { readRange, withFetcher } from '../harness/read.ts'

/** The ceiling: the runtime's Fetcher in a tight loop over every partition, no processing at all. */
export function rawFetcherRate(
  brokers: string[],
  name: string,
  topic: string,
  ends: bigint[],
  timeoutMs: number,
  database: string,
): Promise<Rate & { cpu: CpuUse }> {
  return withFetcher(brokers, name, [topic], async (fetcher) => {
    let records = 0
    const cpu = cpuMeter(database)
    const started = performance.now()
    await readRange(
      fetcher,
      topic,
      ends.map(() => 0n),
      ends,
      (r) => (records += r.length),
      timeoutMs,
    )
    return { records, seconds: (performance.now() - started) / 1000, cpu: cpu.stop() }
  })
}

/** The client's own subscription path (MessagesStream, group join included), counting messages. */
export async function messagesStreamRate(
  brokers: string[],
  group: string,
  topic: string,
  total: number,
  timeoutMs: number,
): Promise<Rate> {
  const consumer = new Consumer({
    clientId: group,
    groupId: group,
    bootstrapBrokers: brokers,
    autocommit: false,
  })
  const started = performance.now()
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST })
    let records = 0
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`timed out after ${timeoutMs / 1000}s: MessagesStream read ${records} of ${total}`),
          ),
        timeoutMs,
      )
      stream.on('error', reject)
      stream.on('data', () => {
        if (++records >= total) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    const seconds = (performance.now() - started) / 1000
    await stream.close().catch(() => {})
    return { records, seconds }
  } finally {
    await consumer.close(true).catch(() => {})
  }
}
