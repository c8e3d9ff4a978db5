/**
 * The outbox relay on a worker thread (ThreadRelay) on the real broker and PostgreSQL: it publishes
 * while the facade's thread is busy, its counts and warnings reach the facade's registry and log,
 * `stop()` publishes what committed, and readiness reports a relay that keeps failing.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { ThreadRelay, type ThreadRelayOptions } from '../../topology/postgres/thread-relay.ts'
import type { OutboxRecord } from '../../topology/runtime/backend.ts'
import { useInfra } from '../support/infra.ts'
import { useOutboxCommits } from '../support/outbox-commits.ts'
import { testMetrics, waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()
// Relays share the database's lock: each test's relay stops with it.
const relays: ThreadRelay[] = []
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop()
})

const outbox = useOutboxCommits(infra.databaseUrl, 'thread-relay-test')
const commitOutputs = outbox.commitOutputs

const record = (topic: string, seq: string): OutboxRecord => ({
  topic,
  key: Buffer.from('k'),
  value: Buffer.from(seq),
  headers: { seq },
})

function startRelay(options: Partial<ThreadRelayOptions> = {}) {
  const { registry, metrics } = testMetrics()
  const warnings: string[] = []
  const relay = new ThreadRelay({
    db: outbox.db,
    databaseUrl: infra.databaseUrl,
    brokers: infra.brokers,
    clientId: infra.name('relay'),
    metrics,
    log: { warn: (_, msg) => warnings.push(msg), error: (_, msg) => warnings.push(msg) },
    ...options,
  })
  relay.start()
  relays.push(relay)
  return { relay, registry, warnings }
}

async function drained(relay: ThreadRelay): Promise<void> {
  await waitUntil('the outbox to drain', async () => (await relay.backlog()) === 0, 30_000).catch((error) => {
    throw new Error(`${error.message}; the relay's last error: ${relay.error}`)
  })
}

/** Each record of `topic`: its value and the timestamp the producer gave it when it was sent. */
async function sent(topic: string): Promise<Array<{ value: string; timestamp: number }>> {
  const { stdout } = await promisify(execFile)('kcat', [
    ...['-C', '-b', infra.brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q'],
    ...['-f', '%T\t%s\n'],
  ])
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [timestamp, value] = line.split('\t')
      return { value: value!, timestamp: Number(timestamp) }
    })
}

describe('ThreadRelay on the real broker and PostgreSQL', () => {
  it('should publish from its worker thread while the facade thread is busy, counting in the facade registry', async () => {
    const topic = await infra.createTopic('thread-relay', 1)
    await commitOutputs([record(topic, 'warm-up')])
    const { relay, registry, warnings } = startRelay()
    await drained(relay) // the worker is up, connected and idle

    const seqs = Array.from({ length: 200 }, (_, n) => `r${n}`)
    await commitOutputs([
      ...seqs.map((seq) => record(topic, seq)),
      record('no such topic!', 'refused'), // the broker refuses it for good: moved aside, with a warning
    ])
    relay.nudge()
    // Block this thread for 2 s: a relay on it could not send a record until the block ends.
    const busyUntil = Date.now() + 2_000
    while (Date.now() < busyUntil) {}
    await drained(relay)

    const published = await sent(topic)
    expect(published.map((r) => r.value)).toEqual(['warm-up', ...seqs])
    for (const r of published.slice(1)) expect(r.timestamp, r.value).toBeLessThan(busyUntil)

    // The worker's counts and warnings, replayed on this thread's registry and log.
    const text = await registry.metrics()
    expect(text).toContain(`commerce_outbox_published_total{topic="${topic}"} ${1 + seqs.length}`)
    expect(text).toContain(`commerce_outbox_publish_latency_seconds_count ${1 + seqs.length}`)
    expect(text).toContain(
      'commerce_outbox_rejected_total{topic="no such topic!",reason="INVALID_TOPIC_EXCEPTION"} 1',
    )
    expect(warnings).toEqual(['outbox record moved to outbox_rejected'])
    expect(relay.problem()).toBeUndefined()
  })

  it('should publish what committed before stop() and end its worker', async () => {
    const topic = await infra.createTopic('thread-relay-stop', 1)
    await commitOutputs([record(topic, 'first')])
    const { relay, registry } = startRelay({ idleMs: 60_000 }) // no poll: only a nudge or stop() publishes
    await drained(relay) // its first round took 'first'; now it idles for a minute
    await commitOutputs([record(topic, 'last')])
    await relay.stop()
    expect(await relay.backlog()).toBe(0)
    expect((await sent(topic)).map((r) => r.value)).toEqual(['first', 'last'])
    expect(await registry.metrics()).toContain(`commerce_outbox_published_total{topic="${topic}"} 2`)
    // Stopped on request: not a failure readiness reports.
    expect(relay.problem()).toBeUndefined()
  })
})

describe('ThreadRelay readiness', () => {
  it('should keep rows through a broker outage and report the relay failing once it lasts', async () => {
    const topic = infra.name('thread-relay-outage')
    await commitOutputs([record(topic, 'x')])
    // Nothing listens on port 1: every send fails as it does while the broker is down.
    const { relay } = startRelay({ brokers: ['127.0.0.1:1'], failingAfterMs: 5_000 })
    await waitUntil('a failed round', async () => relay.error !== undefined)
    expect(relay.problem()).toBeUndefined() // a blip does not flap readiness
    expect(relay.problem(Date.now() + 6_000)).toMatch(/^publishing has failed for \d+ s \(\d+ attempts\): /)
    expect(await relay.backlog()).toBe(1)
  })

  it('should report at once a worker thread that ended unasked, and still stop', async () => {
    await commitOutputs([])
    // The relay on the worker refuses the batch size (the facade validates it before; this bypasses it).
    const { relay, warnings } = startRelay({ batchSize: 0 })
    await waitUntil('the worker to end', async () => relay.problem() !== undefined, 30_000)
    expect(relay.problem()).toBe("the relay's worker thread ended: batchSize must be a positive integer")
    expect(warnings).toEqual(["the outbox relay's worker thread failed"])
    await relay.stop() // returns: nothing is left to stop
  })
})
