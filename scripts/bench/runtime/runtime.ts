/**
 * The runtime benchmark (`./run bench:runtime [--records N] [--per-record-records M]`): on the same
 * records, the raw consume rate of the client (the ceiling, raw-ceiling.ts), PostgreSQL's commit path
 * alone (storage-ceiling.ts), the runtime with batched commits and then live records at a fixed rate,
 * and the runtime with one transaction per record (throughput.ts); end-to-end latency, peak RSS, CPU.
 *
 * Its own options: --keys 10000 --live-rate 5000 --live-seconds 10 (and the harness's: --partitions
 * --max-batch --linger-ms --max-queue-bytes --relay-batch --relay --profile DIR --out FILE --no-write).
 */

import type { Bench, Benchmark } from '../harness/bench.ts'
import { log } from '../harness/infra.ts'
import type { CpuUse, Rate } from '../harness/measure.ts'
import { PRODUCE_SETTINGS, produceAtRate, produceBulk } from '../harness/produce.ts'
import {
  cpuSection,
  fmtInt,
  mb,
  memorySection,
  ms,
  per,
  percent,
  rate,
  rateRow,
  relayWhere,
  table,
  times,
} from '../harness/report.ts'
import { messagesStreamRate, rawFetcherRate } from './raw-ceiling.ts'
import { type StorageResult, storageCeiling } from './storage-ceiling.ts'
import {
  CAUGHT_UP,
  countEvent,
  type LatencyQuantiles,
  type ThroughputResult,
  throughput,
} from './throughput.ts'

interface RuntimeParams {
  records: number
  perRecordRecords: number
  keys: number
  liveRate: number
  liveSeconds: number
}

interface RuntimeResults {
  produce: Rate
  fetcher: Array<Rate & { cpu: CpuUse }>
  messagesStream: Rate | string
  storage: StorageResult
  runtime: ThroughputResult
  live: { sent: number; seconds: number }
  perRecord: ThroughputResult
}

/** A timeout's floor rate: far below what the phase does here. */
const FLOOR = 2_000

const params = (bench: Bench): RuntimeParams => ({
  records: bench.int('records'),
  perRecordRecords: bench.int('per-record-records'),
  keys: bench.int('keys'),
  liveRate: bench.int('live-rate'),
  liveSeconds: bench.int('live-seconds'),
})

async function run(bench: Bench, p: RuntimeParams): Promise<RuntimeResults> {
  const { brokers, scratch, partitions, settings, database } = bench
  const { records: N, perRecordRecords: M, keys, liveRate, liveSeconds } = p
  log(`${N} records, per-record run over ${M}, ${partitions} partitions, ${keys} keys`)
  const input = await scratch.createTopic('events', partitions)
  const output = await scratch.createTopic('counted', partitions)
  const prefixInput = await scratch.createTopic('events-prefix', partitions)
  const prefixOutput = await scratch.createTopic('counted-prefix', partitions)

  log(`producing ${N} records to ${input}, and the first ${M} of them to ${prefixInput}`)
  const make = (i: number) => countEvent(i, keys)
  const produce = { records: N, seconds: await produceBulk(brokers, input, N, make) }
  log(`produced ${per(produce)}`)
  await produceBulk(brokers, prefixInput, M, make)
  const ends = await scratch.expectTotal(input, N)
  await scratch.expectTotal(prefixInput, M)

  // (a) the ceiling, twice (the first run also warms the JIT); then the client's own stream.
  const fetcher: RuntimeResults['fetcher'] = []
  for (let run = 1; run <= 2; run++) {
    const name = scratch.name(`raw${run}`)
    const r = await rawFetcherRate(brokers, name, input, ends, 60_000 + (N / FLOOR) * 1000, database.name)
    if (r.records !== N) throw new Error(`the raw Fetcher read ${r.records} records, not ${N}`)
    log(`raw Fetcher run ${run}: ${per(r)}`)
    fetcher.push(r)
  }
  let messagesStream: Rate | string
  try {
    const group = scratch.group('stream')
    messagesStream = await messagesStreamRate(brokers, group, input, N, 60_000 + (N / FLOOR) * 1000)
    log(`MessagesStream: ${per(messagesStream)}`)
  } catch (error) {
    messagesStream = `failed: ${(error as Error).message}`
    log(`MessagesStream ${messagesStream}`)
  }

  // The PostgreSQL commit path alone, for reference: how fast can batches of this shape commit at all?
  const total = Math.min(N, 300_000)
  log(`storage ceiling: PostgresStateBackend.commit alone, ${total} records`)
  const applicationId = scratch.name('storage')
  const storageConfig = {
    ...bench.base(),
    applicationId,
    input,
    total,
    partitions,
    maxBatch: settings.maxBatch,
  }
  const storage = await bench.phase(storageCeiling, storageConfig, {
    label: 'storage ceiling',
    records: total,
    floorPerSecond: FLOOR,
  })
  log(`storage ceiling: ${per(storage)}`)

  // (b) the runtime over the backlog, then live records at a fixed rate.
  log(
    `runtime (maxBatch ${settings.maxBatch}, lingerMs ${settings.lingerMs}, maxQueueBytes ${settings.maxQueueBytes}) over ${N} records`,
  )
  let live = { sent: 0, seconds: 0 }
  const runtime = await bench.phase(
    throughput,
    { ...bench.appConfig('app', input, output, N), live: true },
    {
      ...{ label: 'runtime', records: N, floorPerSecond: FLOOR, extraMs: liveSeconds * 1000 + 240_000 },
      profile: true,
      answer: async (question) => {
        if (question !== CAUGHT_UP) throw new Error(`unexpected question from the runtime phase: ${question}`)
        log(`caught up; live: ${liveRate} records/s for ${liveSeconds}s`)
        live = await produceAtRate(brokers, input, { rate: liveRate, seconds: liveSeconds }, (i) =>
          make(N + i),
        )
        return N + live.sent
      },
    },
  )
  const l = runtime.live!
  log(`runtime: committed ${per(runtime.committed)}, published ${per(runtime.published)}`)
  log(
    `live: commit p50 ${ms(l.exact.p50)}, p99 ${ms(l.exact.p99)}; publication p50 ${ms(l.publish.p50)}, p99 ${ms(l.publish.p99)}`,
  )

  // (c) one transaction per record, on the prefix topic.
  log(`per-record runtime (maxBatch 1) over ${M} records`)
  const perRecordConfig = bench.appConfig('app-per-record', prefixInput, prefixOutput, M)
  const perRecord = await bench.phase(
    throughput,
    { ...perRecordConfig, settings: { ...settings, maxBatch: 1 }, live: false },
    { label: 'per-record runtime', records: M, floorPerSecond: 100, profile: true },
  )
  log(`per-record: committed ${per(perRecord.committed)}`)
  return { produce, fetcher, messagesStream, storage, runtime, live, perRecord }
}

function render(r: RuntimeResults, p: RuntimeParams, { partitions, settings: s }: Bench): string {
  const best = r.fetcher.reduce((a, b) => (rate(b) > rate(a) ? b : a))
  const { runtime: rt, perRecord: pr, storage } = r
  const live = rt.live!
  const latency = (phase: string, source: string, q: LatencyQuantiles) => [
    ...[phase, source, fmtInt(q.count)],
    ...[ms(q.p50), ms(q.p99)],
  ]
  return [
    `Records: ${fmtInt(p.records)} keyed JSON records (\`{"key":"k123","n":7}\`, ${fmtInt(p.keys)} keys) ` +
      `on a topic of ${partitions} partitions (so ${partitions} tasks); the per-record run reads a separate topic ` +
      `holding the first ${fmtInt(p.perRecordRecords)} of them. Runtime settings: maxBatch ${s.maxBatch}, ` +
      `lingerMs ${s.lingerMs}, maxQueueBytes ${s.maxQueueBytes}; OutboxRelay batchSize ${s.relayBatch}, ${relayWhere(s.relay)}.`,
    '',
    table(
      ['measurement', 'records', 'seconds', 'records/s'],
      [
        rateRow(`produce (${PRODUCE_SETTINGS})`, r.produce),
        ...r.fetcher.map((f, i) =>
          rateRow(`**raw ceiling**: the runtime's Fetcher, no processing (run ${i + 1})`, f),
        ),
        typeof r.messagesStream === 'string'
          ? ['raw: client MessagesStream', '-', '-', r.messagesStream]
          : rateRow('raw: client MessagesStream (group join included)', r.messagesStream),
        rateRow(`PostgreSQL commit path alone (no Kafka, no processing), batches of ${s.maxBatch}`, storage),
        rateRow(`**runtime**, maxBatch ${s.maxBatch}: all committed`, rt.committed),
        rateRow(`runtime, maxBatch ${s.maxBatch}: all published (outbox drained)`, rt.published),
        rateRow('**per-record**, maxBatch 1: all committed', pr.committed),
        rateRow('per-record, maxBatch 1: all published', pr.published),
      ],
    ),
    '',
    `- runtime / raw ceiling (committed rate / best Fetcher rate): **${((100 * rate(rt.committed)) / rate(best)).toFixed(1)}%** (aim ≥ 30%)`,
    `- runtime / per-record (committed rates): **${times(rt.committed, pr.committed)}** (aim ≥ 10×)`,
    `- runtime / PostgreSQL commit path alone: ${percent(rate(rt.committed) / rate(storage))}` +
      ` (commit path alone: ${storage.commitP50Ms.toFixed(1)} ms p50, ${storage.commitP99Ms.toFixed(1)} ms p99 per` +
      ` transaction, ${partitions} committing at once)`,
    `- runtime: started (group joined) after ${ms(rt.startSeconds)}, first commit after ${ms(rt.firstCommitSeconds)}; ` +
      `${fmtInt(rt.batches)} batches of ${rt.meanBatch.toFixed(0)} records on average, each ${rt.taskMs.toFixed(1)} ms in ` +
      `the task (processing + commit), of which ${rt.pgMs.toFixed(1)} ms waiting for its PostgreSQL transaction; the ` +
      `runtime's event loop was busy ${percent(rt.eventLoop)} of the time`,
    `- per-record: ${fmtInt(pr.batches)} transactions, ${pr.pgMs.toFixed(2)} ms each; event loop busy ${percent(pr.eventLoop)}`,
    '',
    'End-to-end latency: record timestamp (set by the producer) → its batch committed in PostgreSQL; ' +
      'publication: → the relay sending its output (the output record timestamp):',
    '',
    table(
      ['phase', 'source', 'records', 'p50', 'p99'],
      [
        latency(
          'backlog (every record produced before the start: queueing)',
          'runtime histogram, bucket-interpolated',
          rt.queuedLatency,
        ),
        latency(
          `live: ${fmtInt(p.liveRate)} records/s for ${r.live.seconds.toFixed(0)} s`,
          'exact: every value the runtime observed',
          live.exact,
        ),
        latency('live', 'runtime histogram, bucket-interpolated', live.histogram),
        latency('live', 'publication (read back from the output topic)', live.publish),
      ],
    ),
    '',
    memorySection(
      `Memory of the runtime process (runtime + relay, in a process of its own; sampled every 250 ms, ` +
        `${rt.rss.samples} samples over the ${fmtInt(rt.committed.records)}-record run): peak RSS **${mb(rt.rss.peak)}**. ` +
        `At most ${fmtInt(rt.maxQueued)} records were held in the task queues at once (fetched, not yet committed; ` +
        `the runtime's consumed − processed counters), for ${partitions} tasks × maxQueueBytes ${s.maxQueueBytes}: a task counts a held record's bytes plus 512 ` +
        `for its objects, and asks a fetch for the wire bytes whose records fit in what is free, so its queue stays within it.`,
      rt.rss,
    ),
    '',
    cpuSection([
      ['raw Fetcher (best run)', best.cpu],
      ['PostgreSQL commit path alone', storage.cpu],
      [`runtime, maxBatch ${s.maxBatch} (until published)`, rt.cpu],
      ['per-record, maxBatch 1 (until published)', pr.cpu],
    ]),
  ].join('\n')
}

export const runtime: Benchmark<RuntimeParams, RuntimeResults> = {
  name: 'runtime',
  title: 'Runtime throughput (`./run bench:runtime`)',
  options: {
    records: '1000000',
    'per-record-records': '20000',
    keys: '10000',
    'live-rate': '5000',
    'live-seconds': '10',
  },
  overallMinutes: 45,
  params,
  run,
  render,
  method: `How it measures (\`scripts/bench/runtime/\`, on the harness in \`scripts/bench/harness/\`): one process
produces the records once, then reads the same topic (a) with the runtime's own \`Fetcher\` in a tight loop
over all partitions (the ceiling: the exact client path the runtime uses, minus processing) and with the
client's \`MessagesStream\` (\`raw-ceiling.ts\`); (b) runs the counting topology
(\`test/support/counting-topology.ts\`: a per-key count in a KeyValueStore, one output per record) on the
\`StreamsApp\` facade — \`StreamsRuntime\` + \`PostgresStateBackend\` + \`OutboxRelay\` (\`throughput.ts\`)
— until the committed offsets in PostgreSQL cover every record, then until the output topic holds every
output; (c) runs the same with \`maxBatch: 1\` (one PostgreSQL transaction per record) on a separate topic
holding a prefix of the records. Latency: with every record produced before the run, the runtime's histogram
measures queueing (a record waits for the ones before it); the live phase produces at a fixed rate into the
caught-up runtime and takes the exact value of each observation the runtime makes into
\`commerce_end_to_end_latency_seconds\` (record timestamp → its batch committed), plus the histogram's own
bucket-interpolated quantiles, plus publication latency read back from the output topic. Each runtime phase
runs in a child process of its own, so its RSS and CPU are the runtime's alone. The "PostgreSQL commit path
alone" row (\`storage-ceiling.ts\`) commits synthetic batches of the same shape (one store upsert per record,
the outputs as one outbox batch row) straight through \`PostgresStateBackend.commit\`, one committer per partition: the
most this storage design allows here, whatever the runtime does. Everything the run creates (database,
topics, consumer groups) is deleted at the end.`,
}
