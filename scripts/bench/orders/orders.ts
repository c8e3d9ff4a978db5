/**
 * The order saga benchmark (`./run bench:orders [--orders N] [--seed-orders M]`): N orders produced
 * straight to `order-created-topic` (keyed by orderId, their rows written as our API writes them), then
 * (a) ours — the shop topology on the StreamsApp facade — until every order's status event is
 * published, then a live phase at half that rate for the latency from order to final status; (b) ours
 * over the first M orders, and (c) the seed's style over the same M (seed-style.ts: per order a locked
 * stock transaction, then a transaction per step), each on a fresh shop of its own. Every phase is
 * checked order by order and against the conservation laws (verify.ts); a wrong result fails the run.
 *
 * Its own options: --users 10000 --products 200 --live-seconds 10 --two-processes 0|1 (and the harness's: --partitions
 * --max-batch --linger-ms --max-queue-bytes --relay-batch --profile DIR --out FILE --no-write).
 */
import { allTopics, InternalTopics, type TopicNames, topicNames } from '../../../processors/topics.ts'
import type { Bench, Benchmark } from '../harness/bench.ts'
import { log, withClient } from '../harness/infra.ts'
import { quantile } from '../harness/measure.ts'
import { produceAtRate, produceBulk } from '../harness/produce.ts'
import { readKeyTimestamps } from '../harness/read.ts'
import { mb, per } from '../harness/report.ts'
import { type LiveAnswer, type LiveQuestion, type OursRun, ours } from './ours.ts'
import { METHOD, renderOrders } from './report.ts'
import { type SeedResult, seedStyle } from './seed-style.ts'
import { freshShop, outcome, owed } from './setup.ts'
import { runTwoProcesses, type TwoProcesses } from './two-processes.ts'
import { type OrdersCheck, verifyOurs, verifySeed } from './verify.ts'
import {
  type BenchOrder,
  insertOrders,
  insertShop,
  makeOrders,
  orderRecord,
  type Workload,
} from './workload.ts'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export interface OrdersParams {
  orders: number
  seedOrders: number
  liveSeconds: number
  twoProcesses: boolean
  workload: Workload
}

export interface Latency {
  p50: number
  p99: number
  count: number
}

export interface OrdersResults {
  produce: { records: number; seconds: number }
  ours: OursRun
  oursSame: OursRun
  seed: SeedResult
  /** Live orders: producer timestamp → the saga's final decision (completed_at/failed_at), → its status event published. */
  latency: { decided: Latency; published: Latency }
  oursCheck: OrdersCheck
  oursSameCheck: OrdersCheck
  seedCheck: OrdersCheck
  /** With --two-processes: ours over the N orders as two processes of one application. */
  two?: TwoProcesses
  restoresPerOrder: number
}

function params(bench: Bench): OrdersParams {
  const p = {
    orders: bench.int('orders'),
    seedOrders: bench.int('seed-orders'),
    liveSeconds: bench.int('live-seconds', 1, 600),
    twoProcesses: bench.int('two-processes', 0, 1) === 1,
    workload: {
      users: bench.int('users'),
      products: bench.int('products'),
      seed: 20_261_125,
      partitions: bench.partitions,
    },
  }
  if (p.seedOrders > p.orders)
    throw new Error(`--seed-orders (${p.seedOrders}) must not exceed --orders (${p.orders})`)
  return p
}

const exact = (samples: number[]): Latency => ({
  p50: quantile(samples, 0.5),
  p99: quantile(samples, 0.99),
  count: samples.length,
})

/** Live orders' latencies, from the records' timestamps, the status events' and the rows' final times. */
async function liveLatency(bench: Bench, prefix: string, url: string, from: number, to: number) {
  const t = topicNames(prefix)
  const byOrder = async (topic: string) => {
    const times = await readKeyTimestamps(bench.brokers, topic, await bench.scratch.endOffsets(topic))
    return new Map([...times].map(([key, at]) => [Number(key), at]))
  }
  const produced = await byOrder(t.ORDER_CREATED)
  const published = await byOrder(t.ORDER_STATUS)
  const decided = await withClient(url, async (c) => {
    const { rows } = await c.query<{ id: string; at: Date }>(
      `select id, coalesce(completed_at, failed_at) as at from orders where id > $1 and id <= $2`,
      [from, to],
    )
    return new Map(rows.map((r) => [Number(r.id), r.at.getTime()]))
  })
  const since = (at: Map<number, number>) =>
    [...at].flatMap(([id, time]) =>
      id > from && id <= to && produced.has(id) ? [(time - produced.get(id)!) / 1000] : [],
    )
  return { decided: exact(since(decided)), published: exact(since(published)) }
}

async function run(bench: Bench, p: OrdersParams): Promise<OrdersResults> {
  const { brokers, scratch, partitions, settings, database } = bench
  const { orders: N, seedOrders: M, workload: w } = p
  log(
    `${N} orders (seed style: the first ${M}), ${w.users} users, ${w.products} products, ${partitions} partitions`,
  )
  const orders = makeOrders(w, 0, N)
  const prefixOrders = orders.slice(0, M)
  await insertShop(database.url, w)
  await insertOrders(database.url, orders)
  const sameDb = await freshShop(bench, prefixOrders, w)
  const seedDb = await freshShop(bench, prefixOrders, w)
  log(`databases: ${database.name} (ours), ${sameDb.name} (ours over ${M}), ${seedDb.name} (seed style)`)

  const prefix = `${scratch.name('orders')}.`
  const copyPrefix = `${prefix}seed.`
  const full = topicNames(prefix)
  const copy = topicNames(copyPrefix)
  for (const p of [prefix, copyPrefix]) await scratch.createTopics(allTopics(p), partitions)
  // The saga's internal topics, created here so that the run deletes them (the runtime finds them).
  const appConfig = (name: string, t: TopicNames, total: number) => {
    const config = bench.appConfig(name, t.ORDER_CREATED, t.ORDER_STATUS, total)
    const internal = Object.values(InternalTopics).flatMap((n) => [
      `${config.applicationId}-${n}`,
      `${config.applicationId}-${n}.dlq`,
    ])
    return { config, internal }
  }
  const a = appConfig('orders', full, N)
  const b = appConfig('orders-same', copy, M)
  await scratch.createTopics([...a.internal, ...b.internal], partitions)

  log(`producing ${N} orders to ${full.ORDER_CREATED}, and the first ${M} to ${copy.ORDER_CREATED}`)
  const produce = {
    records: N,
    seconds: await produceBulk(brokers, full.ORDER_CREATED, N, orderRecord(orders)),
  }
  log(`produced ${per(produce)}`)
  await produceBulk(brokers, copy.ORDER_CREATED, M, orderRecord(prefixOrders))
  await scratch.expectTotal(full.ORDER_CREATED, N)
  const copyEnds = await scratch.expectTotal(copy.ORDER_CREATED, M)

  // (a) ours over N, then live at half the rate it measured.
  let liveOrders: BenchOrder[] = []
  const answer = async (question: unknown): Promise<LiveAnswer> => {
    const { measuredRate } = question as LiveQuestion
    const rate = Math.max(1, Math.round(measuredRate / 2))
    liveOrders = makeOrders(w, N, N + rate * p.liveSeconds)
    await insertOrders(database.url, liveOrders)
    log(`caught up at ${Math.round(measuredRate)} orders/s; live: ${rate} orders/s for ${p.liveSeconds}s`)
    const sent = await produceAtRate(
      brokers,
      full.ORDER_CREATED,
      { rate, seconds: p.liveSeconds },
      orderRecord(liveOrders),
    )
    liveOrders = liveOrders.slice(0, sent.sent)
    return { total: N + sent.sent, restores: owed(orders) + owed(liveOrders), rate, ...sent }
  }
  log(
    `ours: shop topology on the StreamsApp facade (maxBatch ${settings.maxBatch}, lingerMs ${settings.lingerMs}) over ${N} orders`,
  )
  const oursRun = await bench.phase(
    ours,
    { ...a.config, prefix, restores: owed(orders), live: true, outputs: N },
    {
      label: 'ours',
      records: N,
      floorPerSecond: 100,
      extraMs: p.liveSeconds * 1000 + 240_000,
      profile: true,
      answer,
    },
  )
  log(
    `ours: all final and published ${per(oursRun.published)}; quiescent after ${oursRun.quiescentSeconds.toFixed(2)}s; peak RSS ${mb(oursRun.rss.peak)}`,
  )
  const latency = await liveLatency(bench, prefix, database.url, N, N + liveOrders.length)
  log(
    `live: decided p50 ${latency.decided.p50}s p99 ${latency.decided.p99}s; published p50 ${latency.published.p50}s p99 ${latency.published.p99}s`,
  )
  const oursCheck = await verifyOurs(database.url, scratch, prefix, a.config.applicationId, [
    ...orders,
    ...liveOrders,
  ])
  log(`ours correct: ${outcome(oursCheck)}`)

  // (b) ours over the seed style's M orders, on a fresh shop.
  const same = { ...b.config, databaseUrl: sameDb.url, database: sameDb.name }
  const oursSame = await bench.phase(
    ours,
    { ...same, prefix: copyPrefix, restores: owed(prefixOrders), live: false, outputs: M },
    { label: 'ours over the prefix', records: M, floorPerSecond: 100 },
  )
  log(`ours over ${M}: ${per(oursSame.published)}`)
  const oursSameCheck = await verifyOurs(
    sameDb.url,
    scratch,
    copyPrefix,
    b.config.applicationId,
    prefixOrders,
  )
  log(`ours over ${M} correct: ${outcome(oursSameCheck)}`)

  // (a') with --two-processes: ours again over the N orders, as two processes of one application.
  const two = p.twoProcesses
    ? await runTwoProcesses(bench, { orders, prefix: `${prefix}two.`, workload: w, appConfig })
    : undefined

  // (c) the seed style over the same M orders.
  const rankingKey = `${scratch.name('orders-seed')}:ranking:sales`
  bench.cleanups.push(`delete Redis key ${rankingKey}`, async () => {
    const { createClient } = await import('redis')
    const redis = createClient({ url: REDIS_URL })
    await redis.connect()
    await redis.del(rankingKey)
    await redis.quit()
  })
  const seed = await bench.phase(
    seedStyle,
    {
      ...{ brokers, databaseUrl: seedDb.url, database: seedDb.name, group: scratch.group('orders-seed') },
      ...{ input: copy.ORDER_CREATED, ends: copyEnds.map(String), total: M, redisUrl: REDIS_URL, rankingKey },
    },
    { label: 'seed style', records: M, floorPerSecond: 20 },
  )
  log(`seed style: ${per(seed.committed)}`)
  const seedCheck = await verifySeed(seedDb.url, REDIS_URL, rankingKey, prefixOrders)
  log(`seed style correct: ${outcome(seedCheck)}`)
  return {
    produce,
    ours: oursRun,
    oursSame,
    seed,
    latency,
    oursCheck,
    oursSameCheck,
    seedCheck,
    ...(two ? { two } : {}),
    restoresPerOrder: owed(orders) / N,
  }
}

export const ordersBenchmark: Benchmark<OrdersParams, OrdersResults> = {
  name: 'orders',
  title: 'Order saga throughput (`./run bench:orders`)',
  options: {
    orders: '20000',
    'seed-orders': '2000',
    users: '10000',
    products: '200',
    'live-seconds': '10',
    // 1: also run ours as two processes of one application (off: see the report's note on it).
    'two-processes': '0',
  },
  overallMinutes: 30,
  params,
  run,
  render: renderOrders,
  failures: (r) =>
    (
      [
        ['ours over every order', r.oursCheck],
        ["ours over the seed style's orders", r.oursSameCheck],
        ...(r.two ? ([['ours in two processes', r.two.check]] as const) : []),
        ['the seed style', r.seedCheck],
      ] as const
    )
      .filter(([, check]) => !check.ok)
      .map(([name]) => `${name} decided wrong`),
  method: METHOD,
}
