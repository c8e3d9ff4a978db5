/**
 * The runtime's long run (`./run bench:runtime-long [--records 10000000]`): the runtime benchmark's
 * counting topology over a backlog of many records, in a process of its own, with its RSS and heap at
 * every tenth of the run — does memory stay flat? Only the runtime phase: the ceilings, live latency
 * and per-record run are `bench:runtime`'s.
 *
 * Its own options: --records 10000000 --keys 10000 (and the harness's: --partitions --max-batch
 * --linger-ms --max-queue-bytes --relay-batch --profile DIR --out FILE --no-write).
 */
import type { Benchmark } from '../harness/bench.ts'
import { log } from '../harness/infra.ts'
import type { Rate } from '../harness/measure.ts'
import { PRODUCE_SETTINGS, produceBulk } from '../harness/produce.ts'
import { cpuSection, fmtInt, mb, memorySection, per, rateRow, relayWhere, table } from '../harness/report.ts'
import { countEvent, type ThroughputResult, throughput } from './throughput.ts'

interface LongParams {
  records: number
  keys: number
}

interface LongResults {
  produce: Rate
  runtime: ThroughputResult
}

export const runtimeLong: Benchmark<LongParams, LongResults> = {
  name: 'runtime-long',
  title: 'Runtime memory over a long run (`./run bench:runtime-long`)',
  options: { records: '10000000', keys: '10000' },
  overallMinutes: 120,
  params: (bench) => ({ records: bench.int('records'), keys: bench.int('keys') }),
  async run(bench, { records: N, keys }) {
    const { brokers, scratch, partitions, settings } = bench
    const input = await scratch.createTopic('events', partitions)
    const output = await scratch.createTopic('counted', partitions)
    log(`producing ${N} records to ${input} (${keys} keys, ${partitions} partitions)`)
    const produce = { records: N, seconds: await produceBulk(brokers, input, N, (i) => countEvent(i, keys)) }
    log(`produced ${per(produce)}`)
    await scratch.expectTotal(input, N)
    log(`runtime (maxBatch ${settings.maxBatch}, maxQueueBytes ${settings.maxQueueBytes}) over ${N} records`)
    const runtime = await bench.phase(
      throughput,
      { ...bench.appConfig('long', input, output, N), live: false },
      { label: 'runtime (long run)', records: N, floorPerSecond: 2_000, profile: true },
    )
    log(`runtime: committed ${per(runtime.committed)}, published ${per(runtime.published)}`)
    return { produce, runtime }
  },
  render: ({ produce, runtime: rt }, p, { partitions, settings: s }) =>
    [
      `Records: ${fmtInt(p.records)} keyed JSON records (\`{"key":"k123","n":7}\`, ${fmtInt(p.keys)} keys) on a ` +
        `topic of ${partitions} partitions, the counting topology of \`bench:runtime\`. Runtime settings: maxBatch ` +
        `${s.maxBatch}, lingerMs ${s.lingerMs}, maxQueueBytes ${s.maxQueueBytes}; OutboxRelay batchSize ${s.relayBatch}, ` +
        `${relayWhere(s.relay)}.`,
      '',
      table(
        ['measurement', 'records', 'seconds', 'records/s'],
        [
          rateRow(`produce (${PRODUCE_SETTINGS})`, produce),
          rateRow(`**runtime**, maxBatch ${s.maxBatch}: all committed`, rt.committed),
          rateRow(`runtime, maxBatch ${s.maxBatch}: all published (outbox drained)`, rt.published),
        ],
      ),
      '',
      memorySection(
        `Memory of the runtime process (runtime + relay, in a process of its own; sampled every 250 ms, ` +
          `${fmtInt(rt.rss.samples)} samples): peak RSS **${mb(rt.rss.peak)}**. At most ${fmtInt(rt.maxQueued)} ` +
          `records were held in the task queues at once (fetched, not yet committed).`,
        rt.rss,
      ),
      '',
      cpuSection([[`runtime, maxBatch ${s.maxBatch} (until published)`, rt.cpu]]),
    ].join('\n'),
  method: `How it measures (\`scripts/bench/runtime/long-run.ts\`, on the harness in \`scripts/bench/harness/\`):
the records are produced once, then the runtime phase of \`bench:runtime\` (\`throughput.ts\`, the counting
topology on the \`StreamsApp\` facade) runs over the whole backlog in a child process of its own until the
committed offsets in PostgreSQL cover every record and the output topic holds every output. Its RSS and V8
heap are sampled every 250 ms; the table shows them when each tenth of the records was first committed.
Everything the run creates (database, topics, consumer groups) is deleted at the end.`,
}
