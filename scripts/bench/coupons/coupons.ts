/**
 * The flash-sale coupon benchmark (`./run bench:coupons [--requests N] [--seed-requests M]`): requests
 * produced straight to `coupon-issue-topic` (it measures the processor, not the HTTP API), then (a) ours
 * — the shop topology on the StreamsApp facade — until every request's outcome is committed and every
 * result event published, (b) ours again over the first M requests from a fresh sale, and (c) the seed's
 * design (seed-style.ts: one transaction per message with an optimistic-lock update, then a per-record
 * offset commit) over the same M; after (a), the Kafka Streams peer (scripts/bench/peer/) over the same N,
 * under exactly_once_v2 and at_least_once. Every phase checked request by request (verify.ts, and the
 * peer's results.ts). A wrong result fails the run and BENCHMARKS.md is not written.
 *
 * Its own options: --users 10000 --coupons 10 --supply 1000 --cold-share 0.0025 --hot-requests 50000
 * (0: no one-coupon run) --peer on|off (and the harness's:
 * --partitions --max-batch --linger-ms --max-queue-bytes --relay-batch --relay --profile DIR --out FILE --no-write).
 */
import { shopTopology } from '../../../processors/shop-topology.ts'
import { allTopics, topicNames } from '../../../processors/topics.ts'
import { type AppPhaseConfig, type AppRun, measureApp } from '../harness/app-run.ts'
import type { Bench, Benchmark } from '../harness/bench.ts'
import { log } from '../harness/infra.ts'
import { childPhase } from '../harness/phase.ts'
import { produceBulk } from '../harness/produce.ts'
import { mb, per, rate } from '../harness/report.ts'
import { type PeerRuns, runPeer } from '../peer/peer.ts'
import { renderPeer } from '../peer/report.ts'
import { METHOD, renderCoupons } from './report.ts'
import {
  expectedOutcomes,
  insertShop,
  makeRequests,
  type Placed,
  readOrder,
  requestRecord,
  resetShop,
  type Workload,
} from './sale.ts'
import { type SeedResult, seedStyle } from './seed-style.ts'
import { type Correctness, verifyOurs, verifySeed } from './verify.ts'

/** Ours, as the service runs it: the shop topology on the StreamsApp facade, under the run's topic prefix. */
export const ours = childPhase(import.meta.url, 'ours', (config: AppPhaseConfig & { prefix: string }) =>
  measureApp(config, shopTopology(config.applicationId, topicNames(config.prefix))),
)

export interface CouponsParams {
  requests: number
  seedRequests: number
  hotRequests: number
  workload: Workload
}

export interface CouponsResults {
  produce: { records: number; seconds: number }
  ours: AppRun
  /** Ours over the seed style's requests (the same input, from a fresh sale). */
  oursSame: AppRun
  seed: SeedResult
  oursCheck: Correctness
  oursSameCheck: Correctness
  seedCheck: Correctness
  /** The Kafka Streams peer over the same N requests (scripts/bench/peer/), unless --peer off. */
  peer: PeerRuns | undefined
  /** Ours over `hotRequests` requests for ONE coupon (one partition does all the work), unless 0. */
  hot: { result: AppRun; check: Correctness; requests: number } | undefined
}

function params(bench: Bench): CouponsParams {
  const p = {
    requests: bench.int('requests'),
    seedRequests: bench.int('seed-requests'),
    hotRequests: bench.int('hot-requests', 0),
    workload: {
      users: bench.int('users'),
      coupons: bench.int('coupons', 2),
      supply: bench.int('supply', 1, 999_999),
      coldShare: bench.number('cold-share', 0, 1),
      seed: 20_261_124,
    },
  }
  if (p.seedRequests > p.requests)
    throw new Error(`--seed-requests (${p.seedRequests}) must not exceed --requests (${p.requests})`)
  return p
}

const outcome = (check: Correctness) =>
  `${check.ok}${check.examples.length ? ` (${check.examples.join('; ')})` : ''}`

async function run(
  bench: Bench,
  { requests: N, seedRequests: M, hotRequests: H, workload }: CouponsParams,
): Promise<CouponsResults> {
  const { brokers, scratch, partitions, settings, database } = bench
  log(
    `${N} requests (seed style: the first ${M}), ${workload.users} users, ` +
      `${workload.coupons} coupons × ${workload.supply}, ${partitions} partitions`,
  )
  await insertShop(database.url, workload)
  log(
    `database ${database.name}: ${workload.users} users, ${workload.coupons} coupons (ours and seed_coupons)`,
  )
  // The service's topic names under prefixes of this run's own: the N requests under `<p>.`, and the copy
  // of the first M (read by the seed style, and by ours for the same-input comparison) under `<p>.seed.`.
  const prefix = `${scratch.name('coupons')}.`
  const copyPrefix = `${prefix}seed.`
  const full = topicNames(prefix)
  const copy = topicNames(copyPrefix)
  // Every topic the service creates: the shop topology reads the order saga's topics too (idle here).
  // The saga's internal topics (`<applicationId>-…`) each phase's runtime creates at start; the
  // scratch's clean-up finds and deletes them by the run's suffix in their names.
  for (const p of [prefix, copyPrefix]) await scratch.createTopics(allTopics(p), partitions)

  const requests = makeRequests(workload, N)
  log(`producing ${N} requests to ${full.COUPON_ISSUE}, and the first ${M} of them to ${copy.COUPON_ISSUE}`)
  const produce = {
    records: N,
    seconds: await produceBulk(brokers, full.COUPON_ISSUE, N, requestRecord(requests)),
  }
  log(`produced ${per(produce)}`)
  await produceBulk(brokers, copy.COUPON_ISSUE, M, requestRecord(requests))
  const ends = await scratch.expectTotal(full.COUPON_ISSUE, N)
  const copyEnds = await scratch.expectTotal(copy.COUPON_ISSUE, M)
  const order = await readOrder(brokers, full.COUPON_ISSUE, ends)
  const copyOrder = await readOrder(brokers, copy.COUPON_ISSUE, copyEnds)
  log(`partitions: ${ends.join(', ')} requests; of the copy: ${copyEnds.join(', ')}`)

  const runOurs = async (
    name: string,
    prefix: string,
    placed: Placed[][],
    total: number,
    profile: boolean,
    sale: Workload = workload,
  ) => {
    const t = topicNames(prefix)
    const config = { ...bench.appConfig(name, t.COUPON_ISSUE, t.COUPON_ISSUE_RESULT, total), prefix }
    const options = { label: name, records: total, floorPerSecond: 1_000, profile }
    const result = await bench.phase(ours, config, options)
    const expected = expectedOutcomes(placed, sale, 'holders-first')
    const check = await verifyOurs(database.url, scratch, t, expected, sale)
    log(
      `${name}: committed ${per(result.committed)}, published ${per(result.published)}; peak RSS ${mb(result.rss.peak)}`,
    )
    log(`${name} correct: ${outcome(check)}`)
    return { result, check }
  }

  // (a) ours over the N requests.
  log(
    `ours: shop topology on the StreamsApp facade (maxBatch ${settings.maxBatch}, lingerMs ${settings.lingerMs}, ` +
      `maxQueueBytes ${settings.maxQueueBytes}) over ${N} requests`,
  )
  const a = await runOurs('coupons', prefix, order, N, true)

  // The Kafka Streams peer over the same topic, right after ours.
  const peer =
    bench.args.peer === 'off'
      ? undefined
      : await runPeer({
          brokers,
          input: full.COUPON_ISSUE,
          partitions,
          requests: N,
          sale: workload,
          expected: expectedOutcomes(order, workload, 'holders-first'),
          log,
        })

  // (d) one hot coupon: every request names coupon 1, so one partition (one task) does all the work —
  // what a flash sale of a single coupon is. From a fresh sale.
  let hot: CouponsResults['hot']
  if (H > 0) {
    const hotSale: Workload = { ...workload, coupons: 2, coldShare: 0 }
    const hotPrefix = `${prefix}hot.`
    const hotTopics = topicNames(hotPrefix)
    await scratch.createTopics(allTopics(hotPrefix), partitions)
    const hotRequests = makeRequests(hotSale, H)
    await produceBulk(brokers, hotTopics.COUPON_ISSUE, H, requestRecord(hotRequests))
    const hotEnds = await scratch.expectTotal(hotTopics.COUPON_ISSUE, H)
    const hotOrder = await readOrder(brokers, hotTopics.COUPON_ISSUE, hotEnds)
    await resetShop(database.url)
    log(`ours over ${H} requests for one coupon (partitions: ${hotEnds.join(', ')})`)
    const d = await runOurs('coupons-hot', hotPrefix, hotOrder, H, false, hotSale)
    hot = { ...d, requests: H }
  }

  // (b) ours again over the seed style's M requests, from a fresh sale: the same input, the same mix of
  // issued and rejected requests (a sale that sold out early is mostly cheap rejections).
  await resetShop(database.url)
  log(`ours over the seed style's ${M} requests (a fresh sale)`)
  const b = await runOurs('coupons-same', copyPrefix, copyOrder, M, false)

  // (c) the seed style over the same M requests, on its own tables.
  log(
    `seed style: one transaction per message (optimistic lock), per-record offset commit, over ${M} requests`,
  )
  const group = scratch.group('coupons-seed')
  const seed = await bench.phase(
    seedStyle,
    { ...bench.base(), group, input: copy.COUPON_ISSUE, ends: copyEnds.map(String), total: M },
    { label: 'seed style', records: M, floorPerSecond: 50 },
  )
  log(`seed style: committed ${per(seed.committed)}; ${seed.retries} optimistic-lock retries`)
  const seedCheck = await verifySeed(
    database.url,
    scratch,
    { topic: copy.COUPON_ISSUE, group, ends: copyEnds },
    expectedOutcomes(copyOrder, workload, 'availability-first'),
    workload,
  )
  log(`seed style correct: ${outcome(seedCheck)}`)
  return {
    produce,
    ours: a.result,
    oursSame: b.result,
    seed,
    oursCheck: a.check,
    oursSameCheck: b.check,
    seedCheck,
    peer,
    hot,
  }
}

export const coupons: Benchmark<CouponsParams, CouponsResults> = {
  name: 'coupons',
  title: 'Flash-sale coupon throughput (`./run bench:coupons`)',
  options: {
    requests: '200000',
    'seed-requests': '20000',
    'hot-requests': '50000',
    users: '10000',
    coupons: '10',
    supply: '1000',
    'cold-share': '0.0025',
    peer: 'on',
  },
  overallMinutes: 30,
  params,
  run,
  render: (r, p, bench) =>
    r.peer
      ? `${renderCoupons(r, p, bench)}\n\n${renderPeer(r.peer, { rate: rate(r.ours.committed), label: 'ours' })}`
      : renderCoupons(r, p, bench),
  failures: (r) =>
    (
      [
        ['ours over every request', r.oursCheck],
        ["ours over the seed style's requests", r.oursSameCheck],
        ['the seed style', r.seedCheck],
        ...(r.hot ? ([['ours over one hot coupon', r.hot.check]] as const) : []),
      ] as const
    )
      .filter(([, check]) => !check.ok)
      .map(([name]) => `${name} decided wrong`)
      .concat(
        r.peer?.runs.filter((p) => !p.check.ok).map((p) => `the peer under ${p.guarantee} decided wrong`) ??
          [],
      ),
  method: METHOD,
}
