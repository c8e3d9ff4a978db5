/** The benchmark's results: the table it prints, and its section of BENCHMARKS.md. */
import { cpuSection, fmtInt, fmtRate, mb, ms, rate, table, writeMarkedSection } from './format.ts'
import type { CpuUse, RssSummary } from './measure.ts'
import type { LatencyQuantiles, PhaseResult, Rate, RuntimeResult } from './runtime-harness.ts'

export interface Results {
  date: string
  command: string
  machine: Record<string, string>
  params: Record<string, number | string>
  produce: Rate
  fetcher: Rate[]
  fetcherCpu: CpuUse
  messagesStream: Rate | string
  storage: NonNullable<PhaseResult['storage']>
  runtime: RuntimeResult
  rss: RssSummary
  queuedLatency: LatencyQuantiles
  maxQueued: number
  live: NonNullable<PhaseResult['live']> & { sent: number; rate: number; seconds: number }
  perRecord: RuntimeResult
}

export function render(r: Results): string {
  const best = r.fetcher.reduce((a, b) => (rate(b) > rate(a) ? b : a))
  const rt = r.runtime
  const pr = r.perRecord
  const ratioRaw = rate(rt.committed) / rate(best)
  const ratioPerRecord = rate(rt.committed) / rate(pr.committed)
  const p = r.params
  const row = (name: string, x: Rate) => [name, fmtInt(x.records), x.seconds.toFixed(2), fmtRate(x)]
  const lines: string[] = [`Run on ${r.date}: \`${r.command}\``, '', 'Machine:', '']
  for (const [k, v] of Object.entries(r.machine)) lines.push(`- ${k}: ${v}`)
  lines.push(
    '',
    `Records: ${fmtInt(Number(p.records))} keyed JSON records (\`{"key":"k123","n":7}\`, ${fmtInt(Number(p.keys))} keys) ` +
      `on a topic of ${p.partitions} partitions (so ${p.partitions} tasks); the per-record run reads a separate topic ` +
      `holding the first ${fmtInt(Number(p.perRecordRecords))} of them. Runtime settings: maxBatch ${p.maxBatch}, ` +
      `lingerMs ${p.lingerMs}, maxQueueBytes ${p.maxQueueBytes}; OutboxRelay batchSize ${p.relayBatch}.`,
    '',
    table(
      ['measurement', 'records', 'seconds', 'records/s'],
      [
        row('produce (not idempotent, 4 sends of 4,000 in flight, acks=all)', r.produce),
        ...r.fetcher.map((f, i) =>
          row(`**raw ceiling**: the runtime's Fetcher, no processing (run ${i + 1})`, f),
        ),
        typeof r.messagesStream === 'string'
          ? ['raw: client MessagesStream', '-', '-', r.messagesStream]
          : row('raw: client MessagesStream (group join included)', r.messagesStream),
        row(`PostgreSQL commit path alone (no Kafka, no processing), batches of ${p.maxBatch}`, r.storage),
        row(`**runtime**, maxBatch ${p.maxBatch}: all committed`, rt.committed),
        row(`runtime, maxBatch ${p.maxBatch}: all published (outbox drained)`, rt.published),
        row('**per-record**, maxBatch 1: all committed', pr.committed),
        row('per-record, maxBatch 1: all published', pr.published),
      ],
    ),
    '',
    `- runtime / raw ceiling (committed rate / best Fetcher rate): **${(100 * ratioRaw).toFixed(1)}%** (aim ≥ 30%)`,
    `- runtime / per-record (committed rates): **${ratioPerRecord.toFixed(1)}×** (aim ≥ 10×)`,
    `- runtime / PostgreSQL commit path alone: ${((100 * rate(rt.committed)) / rate(r.storage)).toFixed(0)}%` +
      ` (commit path alone: ${r.storage.commitP50Ms.toFixed(1)} ms p50, ${r.storage.commitP99Ms.toFixed(1)} ms p99 per` +
      ` transaction, ${p.partitions} committing at once)`,
    `- runtime: started (group joined) after ${ms(rt.startSeconds)}, first commit after ${ms(rt.firstCommitSeconds)}; ` +
      `${fmtInt(rt.batches)} batches of ${rt.meanBatch.toFixed(0)} records on average, each ${rt.taskMs.toFixed(1)} ms in ` +
      `the task (processing + commit), of which ${rt.pgMs.toFixed(1)} ms waiting for its PostgreSQL transaction; the ` +
      `runtime's event loop was busy ${Math.round(100 * rt.eventLoop)}% of the time`,
    `- per-record: ${fmtInt(pr.batches)} transactions, ${pr.pgMs.toFixed(2)} ms each; event loop busy ` +
      `${Math.round(100 * pr.eventLoop)}%`,
    '',
    'End-to-end latency: record timestamp (set by the producer) → its batch committed in PostgreSQL; ' +
      'publication: → the relay sending its output (the output record timestamp):',
    '',
    table(
      ['phase', 'source', 'records', 'p50', 'p99'],
      [
        [
          'backlog (every record produced before the start: queueing)',
          'runtime histogram, bucket-interpolated',
          fmtInt(r.queuedLatency.count),
          ms(r.queuedLatency.p50),
          ms(r.queuedLatency.p99),
        ],
        [
          `live: ${fmtInt(r.live.rate)} records/s for ${r.live.seconds.toFixed(0)} s`,
          'exact: every value the runtime observed',
          fmtInt(r.live.exact.count),
          ms(r.live.exact.p50),
          ms(r.live.exact.p99),
        ],
        [
          'live',
          'runtime histogram, bucket-interpolated',
          fmtInt(r.live.histogram.count),
          ms(r.live.histogram.p50),
          ms(r.live.histogram.p99),
        ],
        [
          'live',
          'publication (read back from the output topic)',
          fmtInt(r.live.publish.count),
          ms(r.live.publish.p50),
          ms(r.live.publish.p99),
        ],
      ],
    ),
    '',
    `Memory of the runtime process (runtime + relay, in a process of its own; sampled every 250 ms, ` +
      `${r.rss.samples} samples over the ${fmtInt(rt.committed.records)}-record run): peak RSS **${mb(r.rss.peak)}**. ` +
      `At most ${fmtInt(r.maxQueued)} records were held in the task queues at once (fetched, not yet committed; ` +
      `the runtime's consumed − processed counters), for ${p.partitions} tasks × maxQueueBytes ${p.maxQueueBytes}: a task fetches only what ` +
      `is free of its byte bound (at least one record's worth, 1 MB), so its queue stays within it.`,
    '',
    table(
      ['progress', 'start', '10%', '50%', '90%', 'end'],
      [
        ['RSS', ...[r.rss.start, r.rss.p10, r.rss.p50, r.rss.p90, r.rss.end].map((m) => mb(m.rss))],
        ['V8 heap used', ...[r.rss.start, r.rss.p10, r.rss.p50, r.rss.p90, r.rss.end].map((m) => mb(m.heap))],
      ],
    ),
    '',
    ...cpuSection([
      ['raw Fetcher (best run)', r.fetcherCpu],
      ['PostgreSQL commit path alone', r.storage.cpu],
      [`runtime, maxBatch ${p.maxBatch} (until published)`, rt.cpu],
      ['per-record, maxBatch 1 (until published)', pr.cpu],
    ]),
  )
  return lines.join('\n')
}

const METHOD = `How it measures (\`scripts/bench-runtime.ts\`, \`scripts/bench/\`): one process produces the records
once, then reads the same topic (a) with the runtime's own \`Fetcher\` in a tight loop over all partitions
(the ceiling: the exact client path the runtime uses, minus processing) and with the client's
\`MessagesStream\`; (b) runs \`StreamsRuntime\` + \`PostgresStateBackend\` + \`OutboxRelay\` with the counting
topology (\`test/support/counting-topology.ts\`: a per-key count in a KeyValueStore, one output per record)
until the committed offsets in PostgreSQL cover every record, then until the output topic holds every output;
(c) runs the same runtime with \`maxBatch: 1\` (one PostgreSQL transaction per record) on a separate topic
holding a prefix of the records. Latency: with every record produced before the run, the runtime's
histogram measures queueing (a record waits for the ones before it); the live phase produces at a fixed
rate into the caught-up runtime and takes the exact value of each observation the runtime makes into
\`commerce_end_to_end_latency_seconds\` (record timestamp → its batch committed), plus the histogram's own
bucket-interpolated quantiles, plus publication latency read back from the output topic. Each runtime
phase runs in a child process of its own, so its RSS and CPU are the runtime's alone. The "PostgreSQL
commit path alone" row commits synthetic batches of the same shape (one store upsert and one outbox row
per record) straight through \`PostgresStateBackend.commit\`, one committer per partition: the most this
storage design allows here, whatever the runtime does. Everything the run creates (database, topics,
consumer groups) is deleted at the end.`

/** Writes (or replaces) the runtime benchmark's section of BENCHMARKS.md, leaving other sections alone. */
export function writeSection(path: string, body: string): void {
  writeMarkedSection(
    path,
    'runtime',
    `## Runtime throughput (\`./run bench:runtime\`)

${body}

${METHOD}`,
  )
}
