/**
 * The HTTP edge benchmark (`./run bench:edge`): the real service (`node service/main.ts`, ROLE=all, or
 * the API alone with `--role api`) under wrk at 200 connections — first `GET /health/live`, the
 * framework's ceiling on this machine in this run, then `POST /coupons/:couponId/issue` with
 * `{"userId"}` of random users over many coupons (or one, `--hot on`), then the same with
 * `?waitMs=1000` (200 with the decision or 202) — reporting requests/s, latency quantiles, every
 * response by status, CPU by process, and whether every accepted request was recorded and decided
 * right (verify.ts). A wrong result or a 5xx fails the run and BENCHMARKS.md is not written.
 *
 * Its own options: --seconds 10 --warmup-seconds 2 --connections 200 --threads 2 --users 100000
 * --coupons 100 --supply 500 --hot off|on --wait-ms 1000 (0: no waitMs run) --role all|api (and the
 * harness's --partitions --out FILE --no-write, and --profile DIR: a `--cpu-prof` profile of each
 * service instance, one file per thread, written at its exit; its runtime settings do not apply: the
 * service runs with its own). wrk is installed with apt-get when missing (wrk.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { allTopics, type TopicNames, topicNames } from '../../../processors/topics.ts'
import type { Correctness } from '../coupons/verify.ts'
import type { Bench, Benchmark } from '../harness/bench.ts'
import { log } from '../harness/infra.ts'
import { type CatchUp, catchUp } from './catch-up.ts'
import { type EdgeCpu, edgeCpuMeter, peakRss } from './cpu.ts'
import { METHOD, renderEdge } from './report.ts'
import { deployment, insertShop, type Service, type Shop, startService } from './service.ts'
import { verifyEdge } from './verify.ts'
import { ensureWrk, runWrk, type Tally, tally, type WrkResult } from './wrk.ts'

export interface EdgeParams {
  seconds: number
  warmupSeconds: number
  connections: number
  threads: number
  shop: Shop
  hot: boolean
  waitMs: number
  role: 'all' | 'api'
}

/** One measured wrk run. */
export interface Load {
  name: string
  result: WrkResult
  tally: Tally
  cpu: EdgeCpu
  /** The answers of this run: PENDING (202), or the decision a 200 carried. */
  answers: Record<string, number>
}

export interface EdgeResults {
  wrk: string
  health: Load
  issue: Load
  wait: Load | undefined
  /** After the issue run (ROLE=all), or from the start of the processors instance (--role api). */
  catchUp: CatchUp
  serviceRss: number
  stopped: { code: number | null; seconds: number }
  check: Correctness
}

const EXPECTED = { health: ['200'], issue: ['202', '409'], wait: ['200', '202', '409'] }

function params(bench: Bench): EdgeParams {
  const oneOf = <T extends string>(name: string, values: readonly T[]): T => {
    const value = values.find((v) => v === bench.args[name])
    if (!value) throw new Error(`--${name} must be one of ${values.join(', ')}, got ${bench.args[name]}`)
    return value
  }
  const p = {
    seconds: bench.int('seconds'),
    warmupSeconds: bench.int('warmup-seconds', 0),
    connections: bench.int('connections'),
    threads: bench.int('threads'),
    shop: { users: bench.int('users'), coupons: bench.int('coupons'), supply: bench.int('supply') },
    hot: oneOf('hot', ['off', 'on']) === 'on',
    waitMs: bench.int('wait-ms', 0, 5000),
    role: oneOf('role', ['all', 'api'] as const),
  }
  if (p.connections < p.threads)
    throw new Error(`--connections (${p.connections}) must be at least --threads (${p.threads})`)
  return p
}

async function run(bench: Bench, p: EdgeParams): Promise<EdgeResults> {
  const wrk = ensureWrk(log)
  log(
    `${wrk}; ${p.shop.users} users, ${p.shop.coupons} coupons × ${p.shop.supply}${p.hot ? ', one hot coupon' : ''}`,
  )
  await insertShop(bench.database.url, p.shop)
  const d = deployment(bench)
  const topics: TopicNames = topicNames(d.prefix)
  await bench.scratch.createTopics(allTopics(d.prefix), bench.partitions)
  const dir = mkdtempSync(join(tmpdir(), 'bench-edge-'))
  bench.cleanups.push(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }))
  const service = await startService(bench, d.env, p.role)

  const answers = new Map<string, string>()
  let runs = 0
  let inFlight = 0
  const load = async (name: string, path: string, env: Record<string, string>, seconds: number) => {
    const answersFile = join(dir, `answers-${runs++}.txt`)
    let kill = () => {}
    bench.cleanups.push(`kill wrk (${name}) if still running`, () => kill())
    const cpu = edgeCpuMeter(bench.database.name, service.pid)
    const wrkRun = { url: `${service.url}${path}`, seconds, threads: p.threads, connections: p.connections }
    const ran = await runWrk({ ...wrkRun, env, answersFile, onChild: (k) => (kill = k) })
    const used = cpu.stop()
    const e = ran.result.errors
    if (env.EDGE_MODE === 'issue') inFlight += p.connections + e.connect + e.read + e.write
    const counted: Record<string, number> = {}
    for (const [id, status] of ran.answers) {
      answers.set(id, status)
      counted[status] = (counted[status] ?? 0) + 1
    }
    const statuses = Object.entries(ran.result.statuses).map(([s, n]) => `${s}: ${n}`)
    log(
      `${name}: ${ran.result.requests} responses in ${ran.result.seconds.toFixed(2)} s (${statuses.join(', ')})`,
    )
    return { name, result: ran.result, cpu: used, answers: counted }
  }
  const measured = async (name: string, path: string, env: Record<string, string>, expected: string[]) => {
    if (p.warmupSeconds > 0) await load(`${name}, warm-up`, path, env, p.warmupSeconds)
    const l = await load(name, path, env, p.seconds)
    return { ...l, tally: tally(l.result, expected) }
  }
  const issueEnv = (waitMs: number) => ({
    EDGE_MODE: 'issue',
    EDGE_USERS: String(p.shop.users),
    EDGE_COUPONS: String(p.shop.coupons),
    EDGE_HOT: p.hot ? '1' : '0',
    EDGE_WAIT_MS: String(waitMs),
  })

  const health = await measured('GET /health/live', '/health/live', { EDGE_MODE: 'health' }, EXPECTED.health)
  const issue = await measured('POST /coupons/:couponId/issue', '/', issueEnv(0), EXPECTED.issue)
  let caught: CatchUp | undefined
  let wait: Load | undefined
  if (p.role === 'all') {
    caught = await catchUp(bench.database.url)
    // Without the processor in this process no decision comes: the waitMs run needs ROLE=all.
    if (p.waitMs > 0) {
      const name = `POST /coupons/:couponId/issue?waitMs=${p.waitMs}`
      wait = await measured(name, '/', issueEnv(p.waitMs), EXPECTED.wait)
      await catchUp(bench.database.url)
    }
  } else if (p.waitMs > 0) log(`--role api: no waitMs run (no processor in the API instance decides)`)
  const serviceRss = peakRss(service.pid)
  const stopped = await service.stop()
  log(`service stopped (SIGTERM): exit ${stopped.code} after ${stopped.seconds.toFixed(2)} s`)
  if (!caught) caught = await decideWith(bench, d.env)
  const check = await verifyEdge(bench.database.url, bench.scratch, topics, p.shop, { answers, inFlight })
  log(`correct: ${check.ok}${check.examples.length ? ` (${check.examples.join('; ')})` : ''}`)
  return { wrk, health, issue, wait, catchUp: caught, serviceRss, stopped, check }
}

/** --role api: a processors instance of the same deployment decides what the API accepted, timed from its start. */
async function decideWith(bench: Bench, env: Record<string, string>): Promise<CatchUp> {
  const started = performance.now()
  const processors: Service = await startService(bench, env, 'processors')
  const ready = (performance.now() - started) / 1000
  const caught = await catchUp(bench.database.url)
  await processors.stop()
  return {
    ...caught,
    decidedSeconds: ready + caught.decidedSeconds,
    publishedSeconds: ready + caught.publishedSeconds,
  }
}

export const edge: Benchmark<EdgeParams, EdgeResults> = {
  name: 'edge',
  title: 'The HTTP edge: coupon issue against the framework’s ceiling (`./run bench:edge`)',
  options: {
    seconds: '10',
    'warmup-seconds': '2',
    connections: '200',
    threads: '2',
    users: '100000',
    coupons: '100',
    supply: '500',
    hot: 'off',
    'wait-ms': '1000',
    role: 'all',
  },
  overallMinutes: 20,
  params,
  run,
  render: renderEdge,
  failures: (r) => [
    ...(r.check.ok ? [] : ['the service recorded or decided wrong']),
    ...[r.health, r.issue, ...(r.wait ? [r.wait] : [])]
      .filter((l) => Object.keys(l.tally.unexpected).length > 0)
      .map((l) => `${l.name} answered ${JSON.stringify(l.tally.unexpected)}`),
    ...(r.stopped.code === 0 ? [] : [`the service exited with ${r.stopped.code} on SIGTERM`]),
  ],
  method: METHOD,
}
