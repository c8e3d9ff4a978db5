/**
 * Ours, measured in a child process of its own: the shop topology on the StreamsApp facade over the
 * backlog of orders until every order's status event is published (so every order is final in
 * PostgreSQL: the event commits with the status), then until every restore event the compensation
 * owed is applied by its owner (quiescence: the conservation laws hold only then); when `live`, it then
 * asks the parent to produce orders at half the rate it just measured and waits for those too.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import pg from 'pg'
import { shopTopology } from '../../../processors/shop-topology.ts'
import { topicNames } from '../../../processors/topics.ts'
import { type AppPhaseConfig, type AppRun, measureApp } from '../harness/app-run.ts'
import { waitProgress } from '../harness/measure.ts'
import { childPhase } from '../harness/phase.ts'
import { rate } from '../harness/report.ts'

export interface OursConfig extends AppPhaseConfig {
  prefix: string
  /** Restore events the backlog's compensation owes (workload.ts). */
  restores: number
  live: boolean
}

/** The live phase's question: the rate measured (orders/s); the answer is what to wait for then. */
export interface LiveQuestion {
  measuredRate: number
}
export interface LiveAnswer {
  total: number
  restores: number
  rate: number
  sent: number
  seconds: number
}

/** One processor's batches over the backlog (the saga, the stock owner, the user owner, the issuer). */
export interface ProcessorBatches {
  processor: string
  batches: number
  meanBatch: number
  /** Mean seconds in the task per batch (processing and commit). */
  taskSeconds: number
}

export interface OursRun extends AppRun {
  /** From the phase's start until every owed restore was applied too. */
  quiescentSeconds: number
  processors: ProcessorBatches[]
  /** Outbox rows published over the backlog, and their mean time from commit to the relay's send. */
  relay: { published: number; meanSeconds: number }
  /** How late the event loop ran a timer over the backlog: what each await of a commit or relay round waits. */
  loopDelayMs: { p50: number; p99: number; max: number }
  live?: LiveAnswer
}

type Series = {
  values: Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>
}

/** Sums of a histogram's `_sum` and `_count` per value of `label`. */
async function byLabel(metric: { get(): Promise<unknown> }, label: string) {
  const sums = new Map<string, { sum: number; count: number }>()
  for (const v of ((await metric.get()) as Series).values) {
    const key = String(v.labels[label] ?? '')
    const entry = sums.get(key) ?? { sum: 0, count: 0 }
    if (v.metricName?.endsWith('_sum')) entry.sum += v.value
    else if (v.metricName?.endsWith('_count')) entry.count += v.value
    sums.set(key, entry)
  }
  return sums
}

/** Restores applied by their owners (APPLIED rows), read from the phase's database. */
async function appliedRestores(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    "select count(*) as n from applied_restores where outcome = 'APPLIED'",
  )
  return Number(rows[0]!.n)
}

export const ours = childPhase(import.meta.url, 'ours', (config: OursConfig, ask) => {
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  return measureApp(
    config,
    shopTopology(config.applicationId, topicNames(config.prefix)),
    async (measured, scratch, run): Promise<Omit<OursRun, keyof AppRun>> => {
      const client = new pg.Client({ connectionString: config.databaseUrl })
      await client.connect()
      try {
        const started = performance.now()
        await waitProgress('owed restores to be applied', () => appliedRestores(client), config.restores, {
          everyMs: 20,
        })
        const quiescentSeconds = run.published.seconds + (performance.now() - started) / 1000
        loop.disable()
        const loopDelayMs = {
          p50: loop.percentile(50) / 1e6,
          p99: loop.percentile(99) / 1e6,
          max: loop.max / 1e6,
        }
        const { batchSize, commitDuration, publishLatency } = measured.app.metrics
        const sizes = await byLabel(batchSize, 'processor')
        const durations = await byLabel(commitDuration, 'processor')
        const processors = [...sizes].map(([processor, { sum, count }]) => ({
          processor,
          batches: count,
          meanBatch: count ? sum / count : 0,
          taskSeconds: count ? (durations.get(processor)?.sum ?? 0) / count : 0,
        }))
        const latency = [...(await byLabel(publishLatency, 'none')).values()][0] ?? { sum: 0, count: 0 }
        const relay = {
          published: latency.count,
          meanSeconds: latency.count ? latency.sum / latency.count : 0,
        }
        if (!config.live) return { quiescentSeconds, processors, relay, loopDelayMs }
        const question: LiveQuestion = { measuredRate: rate(run.published) }
        const live = (await ask(question)) as LiveAnswer
        const waits = { maxMs: 180_000 }
        const output = config.output
        await waitProgress('live status events', () => scratch.total(output), live.total, waits)
        await waitProgress('live restores applied', () => appliedRestores(client), live.restores, waits)
        return { quiescentSeconds, processors, relay, loopDelayMs, live }
      } finally {
        await client.end()
      }
    },
  )
})
