/** The edge benchmark's results: the text it prints, and its section of BENCHMARKS.md. */
import { type Bench, NODE_ENV_VARS, NODE_FLAGS } from '../harness/bench.ts'
import { fmtInt, mb, table } from '../harness/report.ts'
import type { EdgeCpu } from './cpu.ts'
import type { EdgeParams, EdgeResults, Load } from './edge.ts'
import { WRK_TIMEOUT_SECONDS } from './wrk.ts'

/** The aims of issue 10, item 4: printed with the figures, never asserted. */
const AIM_RATIO = 0.6
const AIM_P99_MS = 50

const envText = () =>
  Object.entries(NODE_ENV_VARS)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')
const msText = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1))
const met = (ok: boolean) => (ok ? 'met' : '**not met**')
const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${fmtInt(n)}`)
    .join(', ')

const loadRow = (l: Load) => {
  const { result: r, tally: t } = l
  const e = r.errors
  return [
    l.name,
    fmtInt(r.requests),
    r.seconds.toFixed(2),
    `**${fmtInt(t.okPerSecond)}**`,
    ...[r.latencyMs.p50, r.latencyMs.p90, r.latencyMs.p99, r.latencyMs.p999, r.latencyMs.max].map(msText),
    counts(r.statuses),
    `${e.connect} / ${e.read} / ${e.write} / ${e.timeout}`,
  ]
}

// Shares of one core over the run's wall time: 100% = one core busy the whole run.
const cpuRow = (name: string, c: EdgeCpu) => [
  name,
  c.seconds.toFixed(1),
  ...[c.service, c.wrk, c.postgres, c.kafka, c.other, c.idle].map(
    (s) => `${Math.round((100 * s) / c.seconds)}%`,
  ),
]

/** Answers slower than wrk's --timeout are not in its latency histogram: say so where it happened. */
const timeouts = (loads: Load[]) =>
  loads
    .filter((l) => l.result.errors.timeout > 0)
    .map(
      (l) =>
        `- ${l.name}: ${fmtInt(l.result.errors.timeout)} answers took longer than wrk's ${WRK_TIMEOUT_SECONDS} s ` +
        'timeout and are left out of its latency quantiles, which are therefore too low',
    )

export function renderEdge(r: EdgeResults, p: EdgeParams, bench: Bench): string {
  const { health, issue, wait, catchUp: c, check } = r
  const ratio = issue.tally.okPerSecond / health.tally.okPerSecond
  const p99 = issue.result.latencyMs.p99
  const coupons = p.hot
    ? 'coupon 1 only (one hot coupon: one partition does all the work)'
    : `a coupon drawn uniformly from 1–${p.shop.coupons}`
  const waitLine = wait
    ? `- \`?waitMs=${p.waitMs}\`: ${fmtInt(wait.tally.okPerSecond)} 2xx/s, p99 ${msText(wait.result.latencyMs.p99)} ms; ` +
      `${fmtInt(wait.result.statuses['200'] ?? 0)} answered 200 with the decision (${counts(
        Object.fromEntries(Object.entries(wait.answers).filter(([k]) => k !== 'PENDING')),
      )}), ${fmtInt(wait.result.statuses['202'] ?? 0)} 202 PENDING (no decision within ${p.waitMs} ms)`
    : `- no \`?waitMs\` run (${p.role === 'api' ? '`--role api`: no processor in the instance' : '`--wait-ms 0`'})`
  const processor =
    p.role === 'all'
      ? `the processor (in the same process) decided the last of the ${fmtInt(c.requests)} requests accepted so far ` +
        `${c.decidedSeconds.toFixed(2)} s after the issue run ended; every result event was published after ` +
        `${c.publishedSeconds.toFixed(2)} s`
      : `after the API stopped, a ROLE=processors instance of the same deployment decided the ${fmtInt(c.requests)} ` +
        `requests ${c.decidedSeconds.toFixed(2)} s after it was started (start-up and group join included); ` +
        `every result event published after ${c.publishedSeconds.toFixed(2)} s`
  return [
    `Service: \`${envText()} node ${NODE_FLAGS.join(' ')} service/main.ts\` ` +
      `(package.json \`start\`), ROLE=${p.role}, LOG_LEVEL=info, RELAY_PLACEMENT=${bench.settings.relay}, ${bench.partitions} partitions, its own database, ` +
      `topic prefix and application id. Shop: ${fmtInt(p.shop.users)} users, ${fmtInt(p.shop.coupons)} coupons × ` +
      `${fmtInt(p.shop.supply)} units (inserted with SQL). Load: ${r.wrk}, \`-t${p.threads} -c${p.connections} ` +
      `-d${p.seconds}s --latency\`, each route after a ${p.warmupSeconds} s warm-up run (not counted); the issue ` +
      `route posts \`{"userId"}\` of a user drawn uniformly from all ${fmtInt(p.shop.users)}, to ${coupons}.`,
    '',
    table(
      [
        'run',
        'responses',
        'seconds',
        '2xx/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'p99.9 ms',
        'max ms',
        'responses by status',
        'socket errors (connect / read / write / timeout)',
      ],
      [health, issue, ...(wait ? [wait] : [])].map(loadRow),
    ),
    '',
    `- \`POST /coupons/:couponId/issue\`: **${fmtInt(issue.tally.okPerSecond)} accepted/s**, ` +
      `**${ratio.toFixed(2)}** of \`/health/live\`'s ${fmtInt(health.tally.okPerSecond)}/s in the same run ` +
      `(aim ≥ ${AIM_RATIO}: ${met(ratio >= AIM_RATIO)}); p99 **${msText(p99)} ms** (aim ≤ ${AIM_P99_MS} ms: ` +
      `${met(p99 <= AIM_P99_MS)}). Only 2xx count: a 409 (the user already holds the coupon) is an answer ` +
      'but not an acceptance, and a 5xx (503 OVERLOADED included) fails the run.',
    waitLine,
    ...timeouts([health, issue, ...(wait ? [wait] : [])]),
    `- ${processor}`,
    `- the service's peak RSS (VmHWM) over the run: ${mb(r.serviceRss)}; on SIGTERM it exited ` +
      `${r.stopped.code} after ${r.stopped.seconds.toFixed(2)} s`,
    '',
    'CPU by process over each measured run, as a share of one core (2 cores = 200%). "service" is the process under ' +
      'test (all its threads); "postgres" is this run\'s database backends plus the server\'s shared processes; ' +
      '"other" is everything else on the machine (this benchmark\'s own process, other people\'s tests):',
    '',
    table(
      ['run', 'seconds', 'service', 'wrk', 'postgres', 'kafka', 'other', 'idle'],
      [health, issue, ...(wait ? [wait] : [])].map((l) => cpuRow(l.name, l.cpu)),
    ),
    '',
    'Correctness (all must pass, or the run fails and this file is not written), over every run, warm-ups included:',
    '',
    table(
      ['check', 'found'],
      [...[...check.found].map(([k, v]) => [k, v]), ['**correct**', check.ok ? 'yes' : '**NO**']],
    ),
  ].join('\n')
}

export const METHOD = `How it measures (\`scripts/bench/edge/\`, on the harness in \`scripts/bench/harness/\`): a scratch
database (migrated, then users and coupons inserted with SQL) and topics under a prefix of the run's own;
the real service is started as operators start it (\`service.ts\`: \`node\` with the flags of package.json
\`start\`, the environment a deployment gives it) and is ready (\`/health/ready\` 200) before any load. wrk
(\`wrk.ts\`; installed with \`apt-get install -y wrk\` when missing, as root) runs \`edge.lua\`: \`GET
/health/live\` is the ceiling — the framework, the connection handling and wrk itself on this machine, in this
run — and the issue route is the same stack plus the route's work: schema validation, and one shared
statement per batch of concurrent requests (pre-checks, the request row and its outbox record; the
\`issueRequestQueue\`). The script counts every response by status (a 5xx by its error code too), so a 503
OVERLOADED is never taken for an answer, and keeps each accepted request's id. wrk is closed-loop: each
connection sends its next request once the last is answered, so the latencies are those at the rate the
service sustains with one request outstanding per connection, not at a fixed offered rate; wrk runs with
\`--timeout 10s\` (an answer slower than its timeout is left out of its latency quantiles). After the runs
the processor must decide every request and the relay publish every result (the processor line); then every accepted
answer must have its row (a 200's decision the row's), every row its topic record and a decision, and the
decisions must be exactly first come, first served in the topic's order with every result event published
(the coupon benchmark's check over the requests the API published). The ratio compares 2xx per second of
both routes, measured one after the other on the same service; wrk's CPU is in the CPU table, so a ceiling wrk
itself limits shows there. Everything the run creates (database, topics, consumer groups, the ranking's
Redis keys) is deleted at the end.`
