/**
 * Producing a scenario's input: record `i` is whatever the scenario's `make(i)` says (its key decides
 * the partition, with the Java-compatible partitioner, as the service's clients do).
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { compatibilityPartitioner, Producer } from '@platformatic/kafka'
import { withTimeout } from '../../../topology/retry.ts'

export type MakeRecord = (i: number) => { key: Buffer; value: Buffer }

function producer(brokers: string[]): Producer {
  // Not idempotent: an idempotent producer allows one request in flight, which halves the rate; no
  // retries happen on a healthy local broker, so the records and their per-key order are the same.
  return new Producer({
    clientId: `bench-producer-${randomUUID().slice(0, 8)}`,
    bootstrapBrokers: brokers,
    partitioner: compatibilityPartitioner,
    acks: -1,
  })
}

/** What the reports say about how `produceBulk` produces. */
export const PRODUCE_SETTINGS = 'not idempotent, 4 sends of 4,000 in flight, acks=all'

/**
 * Produces records 0…count-1 as fast as the client goes; returns the elapsed seconds. Concurrent sends
 * may interleave within a partition: where order matters, read it back from the topic.
 */
export async function produceBulk(
  brokers: string[],
  topic: string,
  count: number,
  make: MakeRecord,
  { chunk = 4_000, inFlight = 4 } = {},
): Promise<number> {
  const p = producer(brokers)
  const started = performance.now()
  try {
    let next = 0
    const worker = async () => {
      while (next < count) {
        const first = next
        next = Math.min(count, next + chunk)
        const messages = []
        for (let i = first; i < next; i++) messages.push({ topic, ...make(i) })
        await withTimeout(p.send({ messages }), 60_000, `producing records ${first}…${next - 1}`)
      }
    }
    await Promise.all(Array.from({ length: inFlight }, worker))
    return (performance.now() - started) / 1000
  } finally {
    await p.close()
  }
}

/**
 * Produces at a fixed rate for a while (a "live" phase): every few milliseconds it sends what the
 * schedule says is due, so records are stamped (by the producer, at send) close to when they were due.
 */
export async function produceAtRate(
  brokers: string[],
  topic: string,
  { rate, seconds }: { rate: number; seconds: number },
  make: MakeRecord,
): Promise<{ sent: number; seconds: number }> {
  const p = producer(brokers)
  const total = Math.round(rate * seconds)
  const started = performance.now()
  let sent = 0
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
      if (due > sent) {
        const messages = []
        for (let i = sent; i < due; i++) messages.push({ topic, ...make(i) })
        await withTimeout(p.send({ messages }), 30_000, 'producing live records')
        sent = due
      } else await new Promise((r) => setTimeout(r, 2))
    }
    return { sent, seconds: (performance.now() - started) / 1000 }
  } finally {
    await p.close()
  }
}
