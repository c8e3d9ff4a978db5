/**
 * The runtime-throughput scenario's measured phase (in a child process of its own): the counting
 * topology (test/support/counting-topology.ts: a per-key count in a KeyValueStore, one output per
 * record) on the StreamsApp facade over the backlog, then — when `live` — records produced at a fixed
 * rate into the caught-up app, with the exact value of every end-to-end latency it observes.
 */
import { countingTopology } from '../../../test/support/counting-topology.ts'
import type { RawRecord } from '../../../topology/record.ts'
import type { RuntimeMetrics } from '../../../topology/runtime/metrics.ts'
import { type AppPhaseConfig, type AppRun, type MeasuredApp, measureApp } from '../harness/app-run.ts'
import type { KafkaScratch } from '../harness/infra.ts'
import { quantile, waitProgress } from '../harness/measure.ts'
import { childPhase } from '../harness/phase.ts'
import { readRange, withFetcher } from '../harness/read.ts'

/** The record the counting topology expects: key `k<i mod keys>`, value `{"key":"k…","n":i}`. */
export function countEvent(i: number, keys: number): { key: Buffer; value: Buffer } {
  const key = `k${i % keys}`
  return { key: Buffer.from(key), value: Buffer.from(`{"key":"${key}","n":${i}}`) }
}

export interface LatencyQuantiles {
  p50: number
  p99: number
  count: number
}

export interface ThroughputResult extends AppRun {
  /** The end-to-end histogram over the backlog: queueing, as every record was produced before the start. */
  queuedLatency: LatencyQuantiles
  live?: { exact: LatencyQuantiles; histogram: LatencyQuantiles; publish: LatencyQuantiles }
}

/** The question the live phase asks the parent: produce now; the answer is the total to wait for. */
export const CAUGHT_UP = 'caught-up'

export const throughput = childPhase(
  import.meta.url,
  'throughput',
  (config: AppPhaseConfig & { live: boolean }, ask): Promise<ThroughputResult> =>
    measureApp(config, countingTopology(config), async (measured, scratch) => {
      const endToEnd = measured.app.metrics.endToEnd
      const queuedLatency = await histogramQuantiles(endToEnd)
      if (!config.live) return { queuedLatency }
      const inputFrom = await scratch.endOffsets(config.input)
      const outputFrom = await scratch.endOffsets(config.output)
      endToEnd.reset()
      const exact = keepObservations(endToEnd)
      const target = Number(await ask(CAUGHT_UP))
      const waits = { maxMs: 120_000 }
      await waitProgress('live records to be committed', () => measured.committed(), target, waits)
      await waitProgress('live outputs to be published', () => scratch.total(config.output), target, waits)
      const live = exact.splice(0)
      const publish = await publicationLatencies(measured, scratch, inputFrom, outputFrom)
      return {
        queuedLatency,
        live: {
          exact: exactQuantiles(live),
          histogram: await histogramQuantiles(endToEnd),
          publish: exactQuantiles(publish),
        },
      }
    }),
)

/** From now on, every value the runtime observes into the histogram is also kept, exactly. */
function keepObservations(histogram: RuntimeMetrics['endToEnd']): number[] {
  const values: number[] = []
  const observe = histogram.observe.bind(histogram) as (labels: { topic: string }, value: number) => void
  histogram.observe = ((labels: { topic: string }, value: number) => {
    values.push(value)
    observe(labels, value)
  }) as typeof histogram.observe
  return values
}

const exactQuantiles = (samples: number[]): LatencyQuantiles => ({
  p50: quantile(samples, 0.5),
  p99: quantile(samples, 0.99),
  count: samples.length,
})

/** p50/p99 of the end-to-end histogram, interpolated within buckets as Prometheus' histogram_quantile. */
async function histogramQuantiles(histogram: RuntimeMetrics['endToEnd']): Promise<LatencyQuantiles> {
  const values = (await histogram.get()).values as Array<{
    metricName?: string
    labels: Record<string, string | number>
    value: number
  }>
  const buckets = new Map<number, number>()
  for (const v of values) {
    if (!v.metricName?.endsWith('_bucket')) continue
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le)
    buckets.set(le, (buckets.get(le) ?? 0) + v.value)
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0])
  const count = sorted.at(-1)?.[1] ?? 0
  const at = (q: number) => {
    const rank = q * count
    let lower = 0
    let below = 0
    for (const [le, cumulative] of sorted) {
      if (cumulative >= rank) {
        if (!Number.isFinite(le)) return lower // beyond the last bucket: its lower bound, as Prometheus does
        return lower + ((le - lower) * (rank - below)) / Math.max(1, cumulative - below)
      }
      lower = le
      below = cumulative
    }
    return lower
  }
  return { p50: at(0.5), p99: at(0.99), count }
}

/** For each output from `outputFrom` on: its timestamp (the relay's send) minus its input record's. */
function publicationLatencies(
  { config }: MeasuredApp,
  scratch: KafkaScratch,
  inputFrom: bigint[],
  outputFrom: bigint[],
): Promise<number[]> {
  const topics = [config.input, config.output]
  return withFetcher(config.brokers, `${config.applicationId}-latency`, topics, async (fetcher) => {
    // Reads [from, the end) of `topic`, handing each record to `each`.
    const read = async (topic: string, from: bigint[], each: (r: RawRecord) => void) =>
      readRange(fetcher, topic, from, await scratch.endOffsets(topic), (rs) => rs.forEach(each), 60_000)
    const produced = new Map<string, number>()
    await read(config.input, inputFrom, (r) => produced.set(`${r.partition}/${r.offset}`, r.timestamp))
    const latencies: number[] = []
    await read(config.output, outputFrom, (r) => {
      // streams.output-id = <application>/<topic>/<partition>/<offset>/<n>
      const id = r.headers['streams.output-id']?.split('/') ?? []
      const source = produced.get(`${id.at(-3)}/${id.at(-2)}`)
      if (source !== undefined) latencies.push((r.timestamp - source) / 1000)
    })
    return latencies
  })
}
