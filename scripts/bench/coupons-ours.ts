/**
 * Ours, as the service wires it (service/processing.ts): the shop topology on StreamsRuntime, with
 * PostgresStateBackend with the topology's readers and writers and the OutboxRelay. Runs in the child process; it
 * measures from start (group join included) until the committed offsets in PostgreSQL cover every
 * request (each request's outcome row, user coupon, counters and result event commit in its batch's
 * transaction), then until the result topic holds every result event.
 */
import { performance } from 'node:perf_hooks'
import { type Kysely, sql } from 'kysely'
import { shopTopology } from '../../processors/shop-topology.ts'
import { topicNames } from '../../processors/topics.ts'
import type { Database } from '../../state/schema.ts'
import { quietLog } from '../../test/support/runtime-fixtures.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import type { CouponsPhaseConfig, OursResult, PartitionDone } from './coupons-phase.ts'
import type { KafkaScratch } from './infra.ts'
import { cpuMeter, RssSampler, waitProgress } from './measure.ts'
import { TimedBackend } from './timed-backend.ts'

/** Sums of a histogram's `_sum` and `_count` series over every label set. */
async function histogramSums(metric: { get(): Promise<{ values: unknown[] }> }) {
  const values = (await metric.get()).values as Array<{ metricName?: string; value: number }>
  const pick = (suffix: string) =>
    values.filter((v) => v.metricName?.endsWith(suffix)).reduce((s, v) => s + v.value, 0)
  return { sum: pick('_sum'), count: pick('_count') }
}

export async function runOurs(
  config: CouponsPhaseConfig,
  db: Kysely<Database>,
  scratch: KafkaScratch,
): Promise<OursResult> {
  const topology = shopTopology(config.group, topicNames(config.prefix))
  const backend = new TimedBackend(new PostgresStateBackend(db, topology.persistence()))
  const { maxBatch, lingerMs, maxQueueBytes } = config.settings
  const app = new StreamsApp(topology, {
    brokers: config.brokers,
    db,
    backend,
    metricsPrefix: 'commerce_',
    log: quietLog,
    maxBatch,
    lingerMs,
    maxQueueBytes,
    relayBatchRows: config.settings.relayBatch,
  })
  const { metrics, relay } = app

  const ends = config.ends.map(Number)
  const done: PartitionDone[] = ends.map((records, partition) => ({
    partition,
    records,
    seconds: records === 0 ? 0 : Number.NaN,
  }))
  const rss = new RssSampler(250)
  let maxQueued = 0
  const sum = async (c: typeof metrics.consumed) => (await c.get()).values.reduce((s, v) => s + v.value, 0)
  const queueSampler = setInterval(() => {
    void Promise.all([sum(metrics.consumed), sum(metrics.processed), sum(metrics.dlq)]).then(
      ([c, p, d]) => (maxQueued = Math.max(maxQueued, c - p - d)),
    )
  }, 250)
  const cpu = cpuMeter(config.database)
  const elu = performance.eventLoopUtilization()
  const started = performance.now()
  try {
    await app.start()
    const startSeconds = (performance.now() - started) / 1000
    let firstCommitSeconds = Number.NaN
    const committed = async () => {
      const { rows } = await sql<{ partition: number; next_offset: string }>`
        select partition, next_offset from stream_offsets
        where application_id = ${config.group} and topic = ${config.input}`.execute(db)
      const now = (performance.now() - started) / 1000
      let total = 0
      for (const r of rows) {
        const offset = Number(r.next_offset)
        total += offset
        const d = done[r.partition]
        if (d && Number.isNaN(d.seconds) && offset >= d.records) d.seconds = now
      }
      if (total > 0 && Number.isNaN(firstCommitSeconds)) firstCommitSeconds = now
      rss.progress = total
      return total
    }
    const committedSeconds =
      startSeconds +
      (await waitProgress(`${config.group}: every request's outcome committed`, committed, config.total, {
        everyMs: 50,
      }))
    const publishedSeconds =
      committedSeconds +
      (await waitProgress(
        `${config.group}: ${config.output} to hold every result event`,
        () => scratch.total(config.output),
        config.total,
        { everyMs: 50 },
      ))
    const eventLoop = performance.eventLoopUtilization(elu).utilization
    const cpuUse = cpu.stop()
    rss.stop()
    // The relay deletes a batch's rows in the transaction that sent it, which commits just after the send.
    await waitProgress(`${config.group}: the outbox to be empty`, async () => -(await relay.backlog()), 0, {
      stallMs: 30_000,
    })
    const size = await histogramSums(metrics.batchSize)
    const task = await histogramSums(metrics.commitDuration)
    return {
      committed: { records: config.total, seconds: committedSeconds },
      published: { records: config.total, seconds: publishedSeconds },
      startSeconds,
      firstCommitSeconds,
      partitions: done,
      batches: size.count,
      meanBatch: size.count ? size.sum / size.count : 0,
      taskMs: task.count ? (task.sum * 1000) / task.count : 0,
      // Two lookups (coupons, users) per batch, one after the other.
      lookupMs: backend.commits ? backend.lookupMs / backend.commits : 0,
      pgMs: backend.commits ? backend.commitMs / backend.commits : 0,
      eventLoop,
      maxQueued,
      cpu: cpuUse,
      rss: rss.summary(config.total),
    }
  } finally {
    clearInterval(queueSampler)
    rss.stop()
    await app.stop().catch((e) => quietLog.error({ error: String(e) }, 'stop failed'))
  }
}
