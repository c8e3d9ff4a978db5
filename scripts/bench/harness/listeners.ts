/**
 * The seed style's listener container, shared by its benchmarks: one MessagesStream for every
 * partition (as Spring's container polls one KafkaConsumer), each partition's messages handed in order
 * to a worker of its own — so as many messages are handled at once as there are partitions, as that
 * many listener threads would — and each message's offset committed once it is handled. The stream has
 * no per-partition pause, so it is paused only when no partition that still has messages to come is
 * short of work (fewer than MAX_WAITING waiting): a fetch response brings one partition's messages
 * after another's, and pausing on a total would leave the other threads idle behind it.
 */
import { performance } from 'node:perf_hooks'
import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka'
import type { PhaseMeter } from './measure.ts'

/** The seed's consumer as Spring's container configures it: its own group, offsets committed by hand. */
export function seedConsumer(config: { group: string; brokers: string[] }): Consumer {
  return new Consumer({
    clientId: config.group,
    groupId: config.group,
    bootstrapBrokers: config.brokers,
    autocommit: false,
    // Spring's defaults: fetch.max.wait.ms 500, fetch.min.bytes 1.
    maxWaitTime: 500,
  })
}

/** Messages a listener thread holds before its consumer stops fetching (Spring's max.poll.records). */
const MAX_WAITING = 500

export interface Listened {
  handled: number
  /** Time spent committing offsets, summed over every message. */
  offsetCommitMs: number
}

/**
 * Runs `handle` on every message of `stream` (whose partitions end at `ends`) until `total` are handled
 * and their offsets committed, reporting progress to `meter`. Rejects with the first error.
 */
export async function listenPerPartition(
  stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
  options: { ends: readonly number[]; total: number; meter: PhaseMeter },
  handle: (message: Message<Buffer, Buffer, Buffer, Buffer>) => Promise<void>,
): Promise<Listened> {
  const { ends, total, meter } = options
  const queues = ends.map(() => [] as Message<Buffer, Buffer, Buffer, Buffer>[])
  const busy = ends.map(() => false)
  // Next offset to arrive per partition: a partition that has all its messages needs no more.
  const fetched = ends.map(() => 0)
  const hungry = () => queues.some((queue, p) => fetched[p]! < ends[p]! && queue.length < MAX_WAITING)
  const result: Listened = { handled: 0, offsetCommitMs: 0 }
  let fail: (error: Error) => void = () => {}
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })

  /** One listener thread: its partition's messages, in order, each handled, then its offset committed. */
  const drain = async (partition: number) => {
    if (busy[partition]) return
    busy[partition] = true
    try {
      const queue = queues[partition]!
      while (queue.length > 0) {
        const message = queue.shift()!
        if (stream.isPaused() && hungry()) stream.resume()
        await handle(message)
        const t1 = performance.now()
        await message.commit()
        result.offsetCommitMs += performance.now() - t1
        result.handled++
        meter.reached(result.handled, [[partition, Number(message.offset) + 1]])
        if (result.handled >= total) finish()
      }
    } catch (error) {
      fail(error as Error)
    } finally {
      busy[partition] = false
    }
  }

  stream.on('error', (error: Error) => fail(error))
  stream.on('data', (message: Message<Buffer, Buffer, Buffer, Buffer>) => {
    queues[message.partition]!.push(message)
    fetched[message.partition] = Number(message.offset) + 1
    if (!hungry()) stream.pause()
    void drain(message.partition)
  })
  await finished
  return result
}
