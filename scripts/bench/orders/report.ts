/** The order benchmark's results: the text it prints, and its section of BENCHMARKS.md. */
import type { Bench } from '../harness/bench.ts'
import { PRODUCE_SETTINGS } from '../harness/produce.ts'
import {
  cpuSection,
  fmtInt,
  mb,
  memorySection,
  ms,
  percent,
  rate,
  rateRow,
  table,
  times,
} from '../harness/report.ts'
import type { OrdersParams, OrdersResults } from './orders.ts'
import type { OursRun } from './ours.ts'
import type { OrdersCheck } from './verify.ts'

const outcomeRows = (checks: OrdersCheck[]) => {
  const names = [...new Set(checks.flatMap((c) => Object.keys(c.outcomes)))].sort()
  return names.map((name) => [name, ...checks.map((c) => fmtInt(c.outcomes[name] ?? 0))])
}

/** CPU time per order, by process: less sensitive to the machine's other load than the rate is. */
const cpuPerOrder = (o: OursRun) =>
  `node ${((1000 * o.cpu.node) / o.published.records).toFixed(2)} ms, PostgreSQL ` +
  `${((1000 * o.cpu.postgres) / o.published.records).toFixed(2)} ms, Kafka ` +
  `${((1000 * o.cpu.kafka) / o.published.records).toFixed(2)} ms`

const batches = (o: OursRun) =>
  `started (group joined) after ${ms(o.startSeconds)}, first commit after ${ms(o.firstCommitSeconds)}; ` +
  `${fmtInt(o.batches)} batches (all processors) of ${o.meanBatch.toFixed(0)} records on average, each ` +
  `${o.taskMs.toFixed(1)} ms in the task, of which ${o.lookupMs.toFixed(1)} ms reading lookups (reference ` +
  `rows) and ${o.pgMs.toFixed(1)} ms in its commit transaction (${o.processors
    .map((p) => `${p.processor}: ${fmtInt(p.batches)} of ${p.meanBatch.toFixed(0)}, ${ms(p.taskSeconds)}`)
    .join('; ')}); the relay published ${fmtInt(o.relay.published)} records, ${ms(o.relay.meanSeconds)} ` +
  `after their commit on average; CPU per order: ${cpuPerOrder(o)}; the event loop was busy ` +
  `${percent(o.eventLoop)} of the time and ran a timer ${o.loopDelayMs.p50.toFixed(1)} ms late at p50, ` +
  `${o.loopDelayMs.p99.toFixed(1)} ms at p99 (max ${o.loopDelayMs.max.toFixed(0)} ms); at most ` +
  `${fmtInt(o.maxQueued)} records waited in the task queues`

export function renderOrders(r: OrdersResults, p: OrdersParams, { partitions, settings: s }: Bench): string {
  const { ours, oursSame, seed, oursCheck: oc, oursSameCheck: mc, seedCheck: sc, two } = r
  const twoRuns = two?.runs ?? []
  const twoRate = {
    records: p.orders,
    seconds: Math.max(...twoRuns.map((t) => t.published.seconds)),
  }
  const twoNode = twoRuns.reduce((s, t) => s + t.cpu.node, 0)
  const w = p.workload
  const N = fmtInt(p.orders)
  const M = fmtInt(p.seedOrders)
  const live = ours.live
  const checks = two ? [oc, two.check, mc, sc] : [oc, mc, sc]
  const cell = <T>(f: (c: OrdersCheck) => T | undefined, show: (v: T) => string) =>
    checks.map((c) => {
      const v = f(c)
      return v === undefined ? '-' : show(v)
    })
  const laws = oc.conservation.map((law, i) => [
    law.name,
    ...checks.map((c) => (c.conservation[i]?.holds ? 'holds' : 'BROKEN')),
  ])
  return [
    `Workload: ${fmtInt(w.users)} users with points for every order of theirs and 20 with almost none, ` +
      `${fmtInt(w.products)} products with stock for every order and one with none, one coupon; ${N} orders of 1–3 ` +
      `products (1–2 units each), their rows written as our API writes them (PENDING, with items), produced ` +
      `straight to \`order-created-topic\` (${partitions} partitions, keyed by orderId) before the run. One order ` +
      'in five uses a user coupon of its own; three in a hundred fail — one names the product with no stock ' +
      '(the others its stock owner reserved with it are given back), one is from a user short of points (its stock is given back), one uses a ' +
      'coupon of another user (its points, then its stock, are given back) — so outcomes are decided by the input ' +
      `alone and compensation is on the path (${r.restoresPerOrder.toFixed(3)} restore events per order). A ` +
      `second topic holds the first ${M} orders: the seed style reads it, and ours a second time, each on a fresh ` +
      `shop${two ? `; a third holds all ${N} again, for ours in two processes` : ''}. Ours: maxBatch ${s.maxBatch}, lingerMs ${s.lingerMs}, maxQueueBytes ${s.maxQueueBytes}; OutboxRelay ` +
      `batchSize ${s.relayBatch}.`,
    '',
    table(
      ['measurement', 'orders', 'seconds', 'orders/s'],
      [
        rateRow(`produce (${PRODUCE_SETTINGS})`, r.produce),
        rateRow('**ours**: every order final, its status event published', ours.published),
        rateRow('ours: and every restore applied by its owner (quiescent)', {
          records: ours.published.records,
          seconds: ours.quiescentSeconds,
        }),
        rateRow(
          `**ours**, the seed style's ${M} orders: every order final and published`,
          oursSame.published,
        ),
        rateRow('**seed style**: every order final, then its offset committed', seed.committed),
      ],
    ),
    '',
    `- ours: **${fmtInt(rate(ours.published))} orders/s** to final status over ${N} orders (aim ≥ 2,000/s)`,
    `- ours / seed style over the same ${M} orders: **${times(oursSame.published, seed.committed)}**; ours over ` +
      `${N} / seed style over ${M}: **${times(ours.published, seed.committed)}** (aim ≥ 10×)`,
    `- ours over ${N}: ${batches(ours)}`,
    ...(two
      ? [
          `- ours in two processes: **${fmtInt(rate(twoRate))} orders/s**; CPU per order: node ` +
            `${((1000 * twoNode) / p.orders).toFixed(2)} ms (both processes), PostgreSQL ` +
            `${((1000 * twoRuns[0]!.cpu.postgres) / p.orders).toFixed(2)} ms; event loops busy ` +
            `${twoRuns.map((t) => percent(t.eventLoop)).join(' and ')}; the relay (one at a time, by its ` +
            `lock) published ${twoRuns.map((t) => fmtInt(t.relay.published)).join(' + ')} records`,
        ]
      : []),
    `- ours over ${M}: ${batches(oursSame)}`,
    `- seed style: started (group joined) after ${ms(seed.startSeconds)}; per order ${seed.orderMeanMs.toFixed(1)} ms ` +
      `on average (p50 ${seed.orderP50Ms.toFixed(1)} ms, p99 ${seed.orderP99Ms.toFixed(1)} ms) in ` +
      `${(seed.transactions / p.seedOrders).toFixed(2)} transactions and ${(seed.redisCalls / p.seedOrders).toFixed(2)} ` +
      `Redis calls, ${partitions} orders at once (one per partition); each offset commit ` +
      `${seed.offsetCommitMeanMs.toFixed(2)} ms; event loop busy ${percent(seed.eventLoop)}`,
    '',
    live
      ? `Latency at half the measured rate: ${fmtInt(live.sent)} more orders produced at ${fmtInt(live.rate)} ` +
        `orders/s for ${live.seconds.toFixed(1)} s into the caught-up app (rows written first, as the API does); ` +
        "from each order record's timestamp (the producer's) to its final status as the saga decided it " +
        '(`completed_at`/`failed_at`, set just before the commit), and to its status event published (the event ' +
        'record timestamp, set by the relay):\n\n' +
        table(
          ['live orders', 'to', 'p50', 'p99'],
          [
            [
              fmtInt(r.latency.decided.count),
              'final status decided',
              ms(r.latency.decided.p50),
              ms(r.latency.decided.p99),
            ],
            [
              fmtInt(r.latency.published.count),
              'status event published',
              ms(r.latency.published.p50),
              ms(r.latency.published.p99),
            ],
          ],
        )
      : '',
    '',
    'Correctness (all must pass, or the run fails and this file is not written):',
    '',
    table(
      [
        'check',
        `ours, ${N} (+ live)`,
        ...(two ? [`ours, two processes, ${N}`] : []),
        `ours, ${M}`,
        `seed style, ${M}`,
      ],
      [
        ['orders', ...checks.map((c) => fmtInt(c.orders))],
        ...outcomeRows(checks),
        ['orders ≠ the outcome the input decides', ...checks.map((c) => fmtInt(c.wrong))],
        ...laws,
        [
          'status events: published / distinct orders / ≠ row',
          ...cell(
            (c) => c.statusEvents,
            (e) => `${fmtInt(e.published)} / ${fmtInt(e.distinct)} / ${e.mismatched}`,
          ),
        ],
        [
          'restore events: owed / published / applied',
          ...cell(
            (c) => c.restores,
            (e) => `${fmtInt(e.owed)} / ${fmtInt(e.published)} / ${fmtInt(e.applied)}`,
          ),
        ],
        ['DLQ records', ...cell((c) => c.dlq, String)],
        ['ranking scores ≠ quantities sold', ...cell((c) => c.rankingMismatches, String)],
        ['**correct**', ...checks.map((c) => (c.ok ? 'yes' : 'NO'))],
      ],
    ),
    '',
    memorySection(
      `Memory of the ours (over ${N}) process (sampled every 250 ms, ${ours.rss.samples} samples): peak RSS ` +
        `**${mb(ours.rss.peak)}**.`,
      ours.rss,
    ),
    '',
    cpuSection([
      [`ours over ${N} (until published)`, ours.cpu],
      ...twoRuns.map((t, i): [string, typeof t.cpu] => [
        `ours in two processes, process ${i + 1} ("other" holds the other one)`,
        t.cpu,
      ]),
      [`ours over ${M} (until published)`, oursSame.cpu],
      [`seed style over ${M}`, seed.cpu],
    ]),
  ].join('\n')
}

export const METHOD = `How it measures (\`scripts/bench/orders/\`, on the harness in \`scripts/bench/harness/\`): three
scratch databases (migrated, then the shop and the orders' rows inserted with SQL: \`workload.ts\`), one per
phase, and topics of the run's own (the saga's internal topics included). Every order is produced before a
phase starts, so a phase measures the saga working off a backlog, not the HTTP API. **Ours** (\`ours.ts\`)
runs as the service runs it — \`shopTopology\` on the \`StreamsApp\` facade (\`StreamsRuntime\`,
\`PostgresStateBackend\`, \`OutboxRelay\`): the saga, the stock owner and the user owner talking through
their internal topics — in a child process of its own, timed from \`start()\` (group join included) until
\`order-status-topic\` holds one event per order (an order's status commits with its event, so every order
is final), then until every restore event its compensation owed is applied (\`applied_restores\`); then the
live phase: orders produced at half the rate just measured, each one's latency read back from the topics
and rows. With \`--two-processes 1\`, ours also runs over a copy of the orders, on a fresh shop, as two
child processes of one application (a consumer group of two, as two \`ROLE=processors\` instances would),
each measured on its own (\`two-processes.ts\`). The Redis ranking is not on our path (a projector derives it from the status events). **The seed
style** (\`seed-style.ts\`) is the seed's consumer (\`kafka-event-architecture.ko.md\` section 2.3) in a child
process of its own: the same Kafka client through its subscription path, the 3 partitions worked on at once
as its 3 listener threads would, and per order: a transaction that locks the order's products (\`select ...
for update\` in id order, for the seed's Redisson multi-lock) and decreases their stock, then one
transaction each to deduct the points, use the coupon and complete the order, a ZINCRBY per line in Redis,
and on a failure a transaction to fail the order and one per restore; then the offset commit. Its rules are
ours (the user row locked for the deduction, the coupon's owner and use checked), so both sides must reach
the same outcomes. Every phase is checked order by order against the outcome its input decides, against
every conservation law (\`state/conservation.ts\`) and — ours — its status and restore events and DLQs, —
the seed style — its Redis ranking (\`verify.ts\`). Everything the run creates (databases, topics, consumer
groups, the Redis key) is deleted at the end.`
