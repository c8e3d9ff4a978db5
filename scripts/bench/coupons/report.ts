/** The coupon benchmark's results: the text it prints, and its section of BENCHMARKS.md. */
import type { AppRun } from '../harness/app-run.ts'
import type { Bench } from '../harness/bench.ts'
import type { PartitionDone, RssSummary } from '../harness/measure.ts'
import { PRODUCE_SETTINGS } from '../harness/produce.ts'
import {
  cpuSection,
  fmtInt,
  fmtRate,
  mb,
  memorySection,
  ms,
  percent,
  rateRow,
  table,
  times,
} from '../harness/report.ts'
import type { CouponsParams, CouponsResults } from './coupons.ts'

export function renderCoupons(
  r: CouponsResults,
  p: CouponsParams,
  { partitions, settings: s }: Bench,
): string {
  const { ours, oursSame, seed, oursCheck: oc, oursSameCheck: mc, seedCheck: sc } = r
  const w = p.workload
  const N = fmtInt(p.requests)
  const M = fmtInt(p.seedRequests)
  const couponsOf = (partition: number) =>
    oc.coupons
      .filter((c) => c.partition === partition)
      .map((c) => c.couponId)
      .join(', ')
  const doneAt = (d: PartitionDone | undefined) =>
    d === undefined || Number.isNaN(d.seconds) ? '-' : `${d.seconds.toFixed(2)} s`
  const partitionRows = ours.partitions.map((d: PartitionDone) => [
    String(d.partition),
    couponsOf(d.partition) || '-',
    fmtInt(d.records),
    doneAt(d),
    fmtInt(seed.partitions[d.partition]?.records ?? 0),
    doneAt(oursSame.partitions[d.partition]),
    doneAt(seed.partitions[d.partition]),
  ])
  const checks = [oc, mc, sc]
  const batches = (o: AppRun) =>
    `started (group joined) after ${ms(o.startSeconds)}, first commit after ${ms(o.firstCommitSeconds)}; ` +
    `${fmtInt(o.batches)} batches of ${o.meanBatch.toFixed(0)} requests on average, each ${o.taskMs.toFixed(1)} ms ` +
    `in the task, of which ${o.lookupMs.toFixed(1)} ms reading the coupons and users lookups and ` +
    `${o.pgMs.toFixed(1)} ms in its commit transaction (the rest: parsing and deciding); the event loop was busy ` +
    `${percent(o.eventLoop)} of the time`
  return [
    `Workload: ${fmtInt(w.users)} users, ${w.coupons} coupons × ${fmtInt(w.supply)} units (inserted with SQL); ` +
      `${N} requests \`{"requestId","userId","couponId"}\` produced straight to \`coupon-issue-topic\` ` +
      `(${partitions} partitions) before the run, keyed by couponId with the Java-compatible partitioner: users ` +
      `uniformly at random (so with duplicates), coupons 1–${w.coupons - 1} equally likely and coupon ${w.coupons} ` +
      `with ${(100 * w.coldShare).toFixed(2)}% of the requests, so that it does not sell out. A second topic holds ` +
      `the first ${M} of the same requests: the seed style reads it, and so does ours a second time, from a fresh ` +
      `sale, for a comparison on the same input (the same mix of issues and rejections: over ${N} requests the ` +
      `sale sells out early and most requests are cheap rejections). Ours: maxBatch ${s.maxBatch}, lingerMs ` +
      `${s.lingerMs}, maxQueueBytes ${s.maxQueueBytes}; OutboxRelay batchSize ${s.relayBatch}.`,
    '',
    table(
      ['measurement', 'requests', 'seconds', 'requests/s'],
      [
        rateRow(`produce (${PRODUCE_SETTINGS})`, r.produce),
        rateRow('**ours**: every outcome committed (offsets, rows, counters, outbox)', ours.committed),
        rateRow('ours: every result event published (outbox relayed)', ours.published),
        ...(r.hot
          ? [
              rateRow(
                `**ours**, one hot coupon (${fmtInt(r.hot.requests)} requests, all on one partition): every outcome committed`,
                r.hot.result.committed,
              ),
            ]
          : []),
        rateRow(`**ours**, the seed style's ${M} requests: every outcome committed`, oursSame.committed),
        rateRow(`ours, the seed style's ${M} requests: every result event published`, oursSame.published),
        rateRow('**seed style**: every outcome committed, then its offset', seed.committed),
      ],
    ),
    '',
    `- ours / seed style, committed rates over the same ${M} requests: **${times(oursSame.committed, seed.committed)}** (aim ≥ 10×)`,
    `- ours over ${N} / seed style over ${M}, committed rates: **${times(ours.committed, seed.committed)}**`,
    `- ours, committed: **${fmtRate(ours.committed)} requests/s** over ${N} (aim ≥ 10,000/s), ` +
      `${fmtRate(oursSame.committed)}/s over ${M} (its first commit comes after ${ms(oursSame.firstCommitSeconds)} ` +
      `of a ${oursSame.committed.seconds.toFixed(2)} s run); published: ${fmtRate(ours.published)}/s`,
    '',
    "Correctness (all must pass, or the run fails and this file is not written): each request's outcome is " +
      "compared with first come, first served in its partition's order (the order read back from the topic); a " +
      'holder asking again after the sell-out is ALREADY_ISSUED in ours (holders checked first) and SOLD_OUT in ' +
      "the seed's (availability checked first, as its section 1.2 lists the checks); the winners are the same.",
    '',
    table(
      ['check', `ours, ${N}`, `ours, ${M}`, `seed style, ${M}`],
      [
        ...[...oc.found.keys()].map((check) => [check, ...checks.map((c) => c.found.get(check) ?? '-')]),
        ['**correct**', ...checks.map((c) => (c.ok ? 'yes' : '**NO**'))],
      ],
    ),
    '',
    table(
      [
        'coupon',
        'partition',
        `${N}: requests`,
        'distinct requesters',
        'issued (ours)',
        `${M}: requests`,
        'distinct requesters',
        'issued (ours)',
        'issued (seed style)',
      ],
      oc.coupons.map((c) => {
        const m = mc.coupons.find((x) => x.couponId === c.couponId)
        const s = sc.coupons.find((x) => x.couponId === c.couponId)
        return [
          String(c.couponId),
          String(c.partition),
          fmtInt(c.requests),
          fmtInt(c.requesters),
          fmtInt(c.issued),
          s ? fmtInt(s.requests) : '-',
          s ? fmtInt(s.requesters) : '-',
          m ? fmtInt(m.issued) : '-',
          s ? fmtInt(s.issued) : '-',
        ]
      }),
    ),
    '',
    'Each coupon lives on one partition (its key), so a partition is done when its coupons are: a run lasts as ' +
      'long as its busiest partition (times from the phase start):',
    '',
    table(
      [
        'partition',
        'coupons',
        `${N}: requests`,
        'ours: all committed after',
        `${M}: requests`,
        'ours: all committed after',
        'seed style: all committed after',
      ],
      partitionRows,
    ),
    '',
    `- ours over ${N}: ${batches(ours)}; at most ${fmtInt(ours.maxQueued)} requests waited in the task queues`,
    `- ours over ${M}: ${batches(oursSame)}`,
    `- seed style: started (group joined) after ${ms(seed.startSeconds)}; ${fmtInt(seed.transactions)} transactions, ` +
      `${seed.txMeanMs.toFixed(2)} ms each on average (p50 ${seed.txP50Ms.toFixed(2)} ms, p99 ${seed.txP99Ms.toFixed(2)} ms; ` +
      `${fmtInt(seed.issued)} issuing: ${seed.issuedTxMeanMs.toFixed(2)} ms, the others: ${seed.rejectedTxMeanMs.toFixed(2)} ms), ` +
      `${((seed.transactions * seed.txMeanMs) / 1000 / seed.committed.seconds).toFixed(2)} in flight on average ` +
      `(at most one per partition); ${fmtInt(seed.retries)} optimistic-lock retries; each offset commit ` +
      `${seed.offsetCommitMeanMs.toFixed(2)} ms; event loop busy ${percent(seed.eventLoop)}`,
    '',
    memory(`ours (over ${N})`, ours.rss, ours.committed.records),
    '',
    memory('seed style', seed.rss, seed.committed.records),
    '',
    cpuSection([
      [`ours over ${N} (until published)`, ours.cpu],
      [`ours over ${M} (until published)`, oursSame.cpu],
      [`seed style over ${M} (until committed)`, seed.cpu],
    ]),
  ].join('\n')
}

const memory = (name: string, rss: RssSummary, records: number) =>
  memorySection(
    `Memory of the ${name} process (sampled every 250 ms, ${rss.samples} samples over ${fmtInt(records)} ` +
      `requests): peak RSS **${mb(rss.peak)}**.`,
    rss,
  )

export const METHOD = `How it measures (\`scripts/bench/coupons/\`, on the harness in \`scripts/bench/harness/\`): a scratch
database (migrated, then users and coupons inserted with SQL, plus the seed style's own \`seed_coupons\`
with a \`version\` column, \`seed_user_coupons\` with the (user, coupon) unique constraint and
\`seed_coupon_issue_requests\`), and topics of its own under a random prefix. Every request is produced
before a phase starts, so a phase measures the processor working off a backlog, not the HTTP API. The
**one hot coupon** run is ours over requests that all name coupon 1 (from a fresh sale): one partition, so
one task, does all the work — the rate of a single coupon's flash sale. **Ours**
runs as the service runs it — \`shopTopology\` on the \`StreamsApp\` facade (\`StreamsRuntime\`,
\`PostgresStateBackend\` with the topology's own lookup readers and table writers, the \`OutboxRelay\`) — in
a child process of its own, timed from \`start()\` (group join included) until the committed offsets in
PostgreSQL cover every request (each batch commits its outcome rows, user coupons, counters, store changes,
result events and offsets in one transaction), then until the result topic holds every result event. **The
seed style** (\`seed-style.ts\`) is the seed's listener (\`kafka-event-architecture.ko.md\` section 1) in a
child process of its own: the same Kafka client through its subscription path (MessagesStream, group join
included), the 3 partitions worked on at once as the seed's 3 listener threads (its section 3.2) would, and
for each message ONE transaction — re-read the coupon, check the user, check availability, check for a
duplicate, insert the user coupon, \`update seed_coupons set issued_quantity = issued_quantity + 1, version
= version + 1 where id = $1 and version = $2\` (0 rows: roll back and retry the whole transaction), insert
the outcome row — then the message's offset committed to Kafka (AckMode.RECORD); its statements are named
prepared statements over plain \`pg\`, no ORM, which if anything favours it. It reads a second topic holding
a prefix of the same requests (same keys, so the same partitions), so that it ends exactly when its last
message is done; ours reads that topic too, from a fresh sale (its shop tables emptied and counters reset in
between), for a comparison on the same input. Every run is then checked request by request (\`verify.ts\`;
see the correctness table). Everything the run creates (database, topics, consumer groups) is deleted at the
end.`
