/** The Kafka Streams peer's part of the coupon benchmark's report: its figures, its checks, and the ratios. */
import { fmtInt, mb, table } from '../harness/report.ts'
import type { PeerRun, PeerRuns } from './peer.ts'

const s = (seconds: number) => `${seconds.toFixed(2)} s`
const perSecond = (run: PeerRun, seconds: number) => fmtInt(run.requests / seconds)

/**
 * The peer's section. `ours`, when given, is our committed rate over the same topic in the same run
 * (requests/s from start(), group join included): the ratios compare it with each guarantee, timed the
 * same way (from KafkaStreams.start()) and with the JVM's start counted too.
 */
export function renderPeer(peer: PeerRuns, ours?: { rate: number; label: string }): string {
  const { runs } = peer
  const lines = [
    `### Kafka Streams 4.4.0 peer over the same ${fmtInt(runs[0]?.requests ?? 0)} requests`,
    '',
    'The same first-come-first-served decision as ours in an idiomatic Kafka Streams app ' +
      '(`scripts/bench/peer/`: Processor API, the issued counts and the holders in RocksDB key-value stores ' +
      'logged to changelog topics, the coupons and users references as global stores loaded from compacted ' +
      'topics), reading the topic ours read, each guarantee as a new application (a fresh sale). Timed from ' +
      '`KafkaStreams.start()` (group join and global store loading included, as ours is timed from `start()`) ' +
      'until a READ_COMMITTED reader of its result topic holds a result for every request.',
    '',
    table(
      [
        'guarantee',
        'stream threads',
        'seconds from start()',
        'requests/s',
        'JVM start (spawn → start())',
        'start-up (spawn → RUNNING)',
        'requests/s from RUNNING',
        'wall (spawn → last result)',
        'requests/s over wall',
      ],
      runs.map((r) => [
        `**${r.guarantee}**`,
        String(r.threads),
        s(r.seconds),
        `**${perSecond(r, r.seconds)}**`,
        s(r.jvmSeconds),
        s(r.startupSeconds),
        perSecond(r, r.processingSeconds),
        s(r.wallSeconds),
        perSecond(r, r.wallSeconds),
      ]),
    ),
    '',
  ]
  if (ours) {
    for (const r of runs) {
      const peerRate = r.requests / r.seconds
      const wallRate = r.requests / r.wallSeconds
      lines.push(
        `- ${ours.label} / peer ${r.guarantee}: **${(ours.rate / peerRate).toFixed(2)}×** ` +
          `(${fmtInt(ours.rate)} / ${fmtInt(peerRate)} requests/s); with the JVM's start counted: ` +
          `${(ours.rate / wallRate).toFixed(2)}×`,
      )
    }
    lines.push('')
  }
  lines.push(
    table(
      ['check', ...runs.map((r) => r.guarantee)],
      [
        ['request ids without a result', ...runs.map((r) => fmtInt(r.check.missing))],
        ['outcomes ≠ first come, first served', ...runs.map((r) => fmtInt(r.check.wrong))],
        ['results for unknown request ids', ...runs.map((r) => fmtInt(r.check.unknown))],
        ['requests answered twice', ...runs.map((r) => fmtInt(r.check.duplicates))],
        [
          'issued / Σ min(supply, distinct requesters)',
          ...runs.map(
            (r) =>
              `${fmtInt(r.check.issued.reduce((a, i) => a + i.issued, 0))} / ` +
              fmtInt(r.check.issued.reduce((a, i) => a + i.expected, 0)),
          ),
        ],
        [
          'coupons whose issued ≠ min(supply, distinct requesters)',
          ...runs.map((r) => String(r.check.issued.filter((i) => i.issued !== i.expected).length)),
        ],
        [
          '(user, coupon) issued twice, or a user coupon id reused',
          ...runs.map((r) => fmtInt(r.check.doubleIssued)),
        ],
        ['**correct**', ...runs.map((r) => (r.check.ok ? 'yes' : `NO (${r.check.examples.join('; ')})`))],
      ],
    ),
    '',
    table(
      ['peer process', ...runs.map((r) => r.guarantee)],
      [
        [
          'JVM CPU over the run (share of one core)',
          ...runs.map((r) => `${Math.round((100 * r.cpuSeconds) / r.wallSeconds)}%`),
        ],
        [
          'machine idle over the run (share of all cores)',
          ...runs.map((r) => `${Math.round(100 * r.idleShare)}%`),
        ],
        ['peak RSS', ...runs.map((r) => mb(r.peakRssBytes))],
      ],
    ),
    '',
    'Peer settings: Kafka Streams defaults otherwise — commit.interval.ms 100 under exactly_once_v2 and ' +
      '30,000 under at_least_once (its results are visible as soon as produced, so it is timed to the last ' +
      'result written), RocksDB default options, no record cache on the stores; ' +
      `the JVM's default heap and GC (${peer.build.java}). ` +
      (peer.build.built
        ? `Built with Maven in ${peer.build.seconds.toFixed(1)} s before the runs (not timed).`
        : 'The jar was built by an earlier run (cached in `.cache/peer/`).'),
  )
  return lines.join('\n')
}

/** The "How it measures" paragraph of `./run bench:peer`'s own section. */
export const PEER_METHOD = `How it measures (\`scripts/bench/peer/\`): the coupon benchmark's requests (its generator,
seed, keys and values) produced before the runs to a topic of the run's own; the Java app (\`pom.xml\`,
\`src/\`; built once per version of its sources with Maven into \`.cache/peer/\`, offline after the first
build) started as a child process per guarantee, each a new application id (a fresh sale: its own group,
RocksDB stores and changelogs), reading the topic from its start, with the coupons and users references as
global stores loaded from compacted topics the run produces. The run reads the peer's result topic
READ_COMMITTED from the runtime's own Fetcher while the peer works, and stops the clock when it holds a
result for every request id; then every result is compared with first come, first served in the order the
topic holds the requests. The peer reports its start() and state changes on stdout; its stderr is kept in
\`.runs/peer/\`. Everything the run creates (topics, changelogs, consumer groups, state directories) is
deleted at the end.`
