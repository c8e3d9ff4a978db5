/**
 * The flash-sale coupon benchmark (`./run bench:coupons [--requests N] [--seed-requests M]`): requests
 * produced straight to `coupon-issue-topic` (it measures the processor, not the HTTP API), then (a) ours
 * — the shop topology on StreamsRuntime + PostgresStateBackend + OutboxRelay — until every request's
 * outcome is committed and every result event published, and (b) the seed's design — one transaction
 * per message with an optimistic-lock update, then a per-record offset commit — over the first M of
 * the same requests; both checked for correctness (every outcome, every holder, every counter). Prints
 * the results and writes them to its section of BENCHMARKS.md. It creates its own database and topics
 * and removes them; it starts the local broker only when nothing answers, and then stops it again.
 *
 * Other options: --users 10000 --coupons 10 --supply 1000 --cold-share 0.0025 --partitions 3
 * --max-batch 500 --linger-ms 5 --max-queue-bytes 2097152 --relay-batch 1000 --profile DIR (CPU profile of our
 * runtime's process) --out FILE (instead of BENCHMARKS.md) --no-write (print only) --no-peer (without the
 * Kafka Streams peer, scripts/bench/peer/, which otherwise runs over the same N requests after ours).
 */
import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { topicNames } from '../processors/topics.ts'
import { createDb } from '../state/db.ts'
import { migrateToLatest } from '../state/migrate.ts'
import { withTimeout } from '../topology/retry.ts'
import { dlqTopic } from '../topology/topic-admin.ts'
import { installCleanup } from './bench/cleanup.ts'
import { type CouponsPhaseConfig, runCouponsPhase } from './bench/coupons-phase.ts'
import { renderCoupons, writeCouponsSection } from './bench/coupons-report.ts'
import { type Correctness, verifyOurs, verifySeed } from './bench/coupons-verify.ts'
import {
  expectedOutcomes,
  insertShop,
  makeRequests,
  produceRequests,
  readOrder,
  resetShop,
  type Workload,
} from './bench/coupons-workload.ts'
import {
  createDatabase,
  deleteGroups,
  describeMachine,
  ensureBroker,
  KafkaScratch,
  log,
} from './bench/infra.ts'
import { runPeer } from './bench/peer/peer.ts'
import { renderPeer } from './bench/peer/report.ts'
import type { RuntimeSettings } from './bench/runtime-harness.ts'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    'seed-requests': { type: 'string', default: '20000' },
    users: { type: 'string', default: '10000' },
    coupons: { type: 'string', default: '10' },
    supply: { type: 'string', default: '1000' },
    'cold-share': { type: 'string', default: '0.0025' },
    partitions: { type: 'string', default: '3' },
    'max-batch': { type: 'string', default: '500' },
    'linger-ms': { type: 'string', default: '5' },
    'max-queue-bytes': { type: 'string', default: '2097152' },
    'relay-batch': { type: 'string', default: '1000' },
    profile: { type: 'string' },
    out: { type: 'string', default: new URL('../BENCHMARKS.md', import.meta.url).pathname },
    'no-write': { type: 'boolean', default: false },
    'no-peer': { type: 'boolean', default: false },
  },
})
const int = (name: keyof typeof args, min = 1, max = Number.MAX_SAFE_INTEGER) => {
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer in ${min}…${max}, got ${args[name]}`)
  return n
}
const N = int('requests')
const M = int('seed-requests')
const partitions = int('partitions')
const coldShare = Number(args['cold-share'])
if (!(coldShare >= 0 && coldShare < 1)) throw new Error(`--cold-share must be in [0, 1), got ${coldShare}`)
const workload: Workload = {
  users: int('users'),
  coupons: int('coupons', 2),
  supply: int('supply', 1, 999_999),
  coldShare,
  seed: 20_261_124,
}
const settings: RuntimeSettings = {
  maxBatch: int('max-batch'),
  lingerMs: int('linger-ms', 0),
  maxQueueBytes: int('max-queue-bytes'),
  relayBatch: int('relay-batch'),
}
const execArgv = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : []
const OVERALL_MS = 30 * 60_000
/** A minute plus the records at a floor rate far below what the phase does here. */
const phaseTimeout = (records: number, floorPerSecond: number) => 60_000 + (records / floorPerSecond) * 1000

const cleanups = installCleanup(OVERALL_MS)

const per = (records: number, seconds: number) =>
  `${records} in ${seconds.toFixed(2)}s (${Math.round(records / seconds)}/s)`

async function main() {
  const command = `node scripts/bench-coupons.ts ${process.argv.slice(2).join(' ')}`.trim()
  log(
    `${command}: ${N} requests (seed style: the first ${M}), ${workload.users} users, ` +
      `${workload.coupons} coupons × ${workload.supply}, ${partitions} partitions`,
  )
  if (M > N) throw new Error(`--seed-requests (${M}) must not exceed --requests (${N})`)
  const broker = ensureBroker()
  cleanups.push({ what: 'stop the broker if we started it', run: broker.stop })
  const machine = await describeMachine(broker.source)
  for (const [k, v] of Object.entries(machine)) log(`${k}: ${v}`)

  const database = await createDatabase()
  cleanups.push({ what: `drop database ${database.name}`, run: database.drop })
  const db = createDb({ url: database.url, maxConnections: 2 })
  await migrateToLatest(db as Kysely<unknown>)
  await db.destroy()
  await insertShop(database.url, workload)
  log(
    `database ${database.name}: ${workload.users} users, ${workload.coupons} coupons (ours and seed_coupons)`,
  )

  const scratch = new KafkaScratch(broker.brokers)
  cleanups.push({ what: 'delete consumer groups', run: () => scratch.cleanup() })
  // The service's topic names under prefixes of this run's own (KafkaScratch names topics
  // `bench-<name>-<suffix>`, which cannot give `<prefix>coupon-issue-topic.dlq`): the N requests under
  // `<p>.`, and the copy of the first M (read by the seed style, and by ours for the same-input
  // comparison) under `<p>.seed.`.
  const prefix = `${scratch.name('coupons')}.`
  const full = topicNames(prefix)
  const copyPrefix = `${prefix}seed.`
  const copy = topicNames(copyPrefix)
  const created: string[] = []
  cleanups.push({
    what: 'delete topics',
    run: () =>
      created.length > 0 &&
      withTimeout(scratch.admin.deleteTopics({ topics: created }), 30_000, 'deleteTopics'),
  })
  for (const t of [full, copy]) {
    for (const topic of [t.COUPON_ISSUE, t.COUPON_ISSUE_RESULT, dlqTopic(t.COUPON_ISSUE)]) {
      await withTimeout(
        scratch.admin.createTopics({ topics: [topic], partitions, replicas: 1 }),
        30_000,
        `createTopics ${topic}`,
      )
      created.push(topic)
    }
  }
  const oursGroup = scratch.group('coupons')
  const sameGroup = scratch.group('coupons-same')
  const seedGroup = scratch.group('coupons-seed')
  cleanups.push({
    what: 'delete consumer groups',
    run: () => deleteGroups(scratch.admin, [oursGroup, sameGroup, seedGroup]),
  })

  const requests = makeRequests(workload, N)
  log(`producing ${N} requests to ${full.COUPON_ISSUE}, and the first ${M} of them to ${copy.COUPON_ISSUE}`)
  const produceSeconds = await produceRequests(broker.brokers, full.COUPON_ISSUE, requests)
  log(`produced ${per(N, produceSeconds)}`)
  await produceRequests(broker.brokers, copy.COUPON_ISSUE, requests.slice(0, M))
  const ends = await scratch.endOffsets(full.COUPON_ISSUE)
  const copyEnds = await scratch.endOffsets(copy.COUPON_ISSUE)
  if ((await scratch.total(full.COUPON_ISSUE)) !== N)
    throw new Error(`${full.COUPON_ISSUE} does not hold ${N}`)
  if ((await scratch.total(copy.COUPON_ISSUE)) !== M)
    throw new Error(`${copy.COUPON_ISSUE} does not hold ${M}`)
  const order = await readOrder(broker.brokers, full.COUPON_ISSUE, ends)
  const copyOrder = await readOrder(broker.brokers, copy.COUPON_ISSUE, copyEnds)
  log(`partitions: ${ends.join(', ')} requests; of the copy: ${copyEnds.join(', ')}`)

  const phase = (
    mode: 'ours' | 'seed',
    group: string,
    t: typeof full,
    topicEnds: bigint[],
    total: number,
  ) => {
    const config: CouponsPhaseConfig = {
      mode,
      brokers: broker.brokers,
      databaseUrl: database.url,
      database: database.name,
      group,
      prefix: t === full ? prefix : copyPrefix,
      input: t.COUPON_ISSUE,
      ends: topicEnds.map(String),
      output: t.COUPON_ISSUE_RESULT,
      total,
      settings,
    }
    let kill = () => {}
    cleanups.push({ what: `kill the ${mode} process if still running`, run: () => kill() })
    return { config, onChild: (k: () => void) => (kill = k) }
  }
  const outcome = (check: Correctness) =>
    `${check.ok}${check.examples.length ? ` (${check.examples.join('; ')})` : ''}`

  // (a) ours over the N requests.
  const o = phase('ours', oursGroup, full, ends, N)
  log(
    `ours: shop topology on StreamsRuntime (maxBatch ${settings.maxBatch}, lingerMs ${settings.lingerMs}, ` +
      `maxQueueBytes ${settings.maxQueueBytes}) + OutboxRelay over ${N} requests`,
  )
  const ours = (
    await runCouponsPhase(o.config, { timeoutMs: phaseTimeout(N, 1_000), execArgv, onChild: o.onChild })
  ).ours!
  log(
    `ours: committed ${per(N, ours.committed.seconds)}, published ${per(N, ours.published.seconds)}; ` +
      `peak RSS ${Math.round(ours.rss.peak / 2 ** 20)} MB`,
  )
  const oursCheck = await verifyOurs(
    database.url,
    scratch,
    full,
    expectedOutcomes(order, workload, 'holders-first'),
    workload,
  )
  log(`ours correct: ${outcome(oursCheck)}`)

  // The Kafka Streams peer over the same topic, right after ours (scripts/bench/peer/).
  const peer = args['no-peer']
    ? undefined
    : await runPeer({
        brokers: broker.brokers,
        input: full.COUPON_ISSUE,
        partitions,
        requests: N,
        sale: workload,
        expected: expectedOutcomes(order, workload, 'holders-first'),
        log,
      })

  // (b) ours again over the seed style's M requests, from a fresh sale: the same input, the same mix of
  // issued and rejected requests (a sale that sold out early is mostly cheap rejections).
  await resetShop(database.url)
  const same = phase('ours', sameGroup, copy, copyEnds, M)
  log(`ours over the seed style's ${M} requests (a fresh sale)`)
  const oursSame = (
    await runCouponsPhase(same.config, { timeoutMs: phaseTimeout(M, 1_000), onChild: same.onChild })
  ).ours!
  log(`ours (same ${M}): committed ${per(M, oursSame.committed.seconds)}`)
  const oursSameCheck = await verifyOurs(
    database.url,
    scratch,
    copy,
    expectedOutcomes(copyOrder, workload, 'holders-first'),
    workload,
  )
  log(`ours (same ${M}) correct: ${outcome(oursSameCheck)}`)

  // (c) the seed style over the same M requests, on its own tables.
  const s = phase('seed', seedGroup, copy, copyEnds, M)
  log(
    `seed style: one transaction per message (optimistic lock), per-record offset commit, over ${M} requests`,
  )
  const seed = (await runCouponsPhase(s.config, { timeoutMs: phaseTimeout(M, 50), onChild: s.onChild })).seed!
  log(`seed style: committed ${per(M, seed.committed.seconds)}; ${seed.retries} optimistic-lock retries`)
  const seedCheck = await verifySeed(
    database.url,
    scratch,
    { topic: copy.COUPON_ISSUE, group: seedGroup, ends: copyEnds },
    expectedOutcomes(copyOrder, workload, 'availability-first'),
    workload,
  )
  log(`seed style correct: ${outcome(seedCheck)}`)

  return {
    date: `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    command,
    machine,
    workload,
    params: { requests: N, seedRequests: M, partitions, ...settings },
    produce: { records: N, seconds: produceSeconds },
    ours,
    oursSame,
    seed,
    oursCheck,
    oursSameCheck,
    seedCheck,
    peer,
  }
}

let exitCode = 0
try {
  const results = await main()
  const peer = results.peer
  const text = peer
    ? `${renderCoupons(results)}\n\n${renderPeer(peer, { rate: N / results.ours.committed.seconds, label: 'ours' })}`
    : renderCoupons(results)
  process.stdout.write(`\n${text}\n`)
  const peerOk = peer?.runs.every((r) => r.check.ok) ?? true
  if (!results.oursCheck.ok || !results.oursSameCheck.ok || !results.seedCheck.ok || !peerOk) {
    process.stderr.write(
      'bench:coupons: WRONG RESULTS (see the correctness table); BENCHMARKS.md not written\n',
    )
    exitCode = 1
  } else if (!args['no-write']) {
    writeCouponsSection(args.out, text)
    log(`results written to ${args.out}`)
  }
} catch (error) {
  process.stderr.write(`bench:coupons failed: ${(error as Error).stack ?? error}\n`)
  exitCode = 1
} finally {
  await cleanups.run()
}
process.exit(exitCode)
