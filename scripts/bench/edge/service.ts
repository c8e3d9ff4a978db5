/**
 * The service under test in bench:edge: `node service/main.ts` with the flags it runs with in
 * production (package.json `start`, the Dockerfile), as a deployment of the run's own — its database,
 * topic prefix, application id and admin token — and the shop it serves, inserted with SQL.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createClient } from 'redis'
import { freePort } from '../../../test/support/service-process.ts'
import { type Bench, NODE_ENV_VARS, NODE_FLAGS } from '../harness/bench.ts'
import { log, withClient } from '../harness/infra.ts'
import { warmCompileCache } from '../harness/phase.ts'

const root = new URL('../../../', import.meta.url).pathname
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export type Role = 'all' | 'api' | 'processors'

export interface Shop {
  users: number
  coupons: number
  /** Units of each coupon. */
  supply: number
}

/** Users 1…users and coupons 1…coupons of `supply` units each, never expiring. */
export async function insertShop(url: string, shop: Shop): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(
      `insert into users (id, name) select g, 'user-' || g from generate_series(1, $1::int) g`,
      [shop.users],
    )
    await client.query(`select setval('users_id_seq', $1::int)`, [shop.users])
    await client.query(
      `insert into coupons (id, name, discount_type, discount_value, total_quantity)
       select g, 'coupon-' || g, 'AMOUNT', 1000, $2::int from generate_series(1, $1::int) g`,
      [shop.coupons, shop.supply],
    )
    await client.query(`select setval('coupons_id_seq', $1::int)`, [shop.coupons])
    // Fresh tables: statistics now, as autovacuum (off on the CI machines) would eventually do.
    await client.query('analyze')
  })
}

/** The deployment's settings, shared by every instance the run starts (the processors after the API). */
export function deployment(bench: Bench) {
  const applicationId = bench.scratch.group('edge')
  const prefix = `${applicationId}.`
  // The sales ranking's keys (its ready marker never expires) live under the topic prefix in the shared
  // Redis; registered before any instance starts, so this step runs after every instance is killed.
  bench.cleanups.push(`delete the Redis keys ${prefix}*`, () => deleteRedisKeys(`${prefix}*`))
  return {
    prefix,
    env: {
      KAFKA_BROKERS: bench.brokers.join(','),
      DATABASE_URL: bench.database.url,
      REDIS_URL,
      APPLICATION_ID: applicationId,
      TOPIC_PREFIX: prefix,
      TOPIC_PARTITIONS: String(bench.partitions),
      ADMIN_TOKEN: randomBytes(16).toString('hex'),
      HOST: '127.0.0.1',
      RELAY_PLACEMENT: bench.settings.relay,
    },
  }
}

async function deleteRedisKeys(match: string): Promise<void> {
  const redis = createClient({ url: REDIS_URL })
  redis.on('error', () => {})
  await redis.connect()
  try {
    for await (const keys of redis.scanIterator({ MATCH: match, COUNT: 500 }))
      if (keys.length > 0) await redis.del(keys)
  } finally {
    await redis.close()
  }
}

export interface Service {
  readonly url: string
  readonly pid: number
  readonly role: Role
  /** SIGTERM, then the exit: its code (0 when it drained in time) and how long it took. */
  stop(): Promise<{ code: number | null; seconds: number }>
}

/** Starts an instance of `role` and waits until /health/ready answers 200; killed at clean-up if still up. */
export async function startService(bench: Bench, env: Record<string, string>, role: Role): Promise<Service> {
  const port = await freePort()
  // --profile DIR: a CPU profile of each instance over its whole life (written when it exits on SIGTERM).
  const dir = bench.args.profile
  const profile = typeof dir === 'string' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
  // As the image's build step does (the Dockerfile): the service's modules into NODE_COMPILE_CACHE.
  warmCompileCache(
    [...NODE_FLAGS, 'service/main.ts', '--warm-compile-cache'],
    { ...process.env, ...NODE_ENV_VARS },
    root,
  )
  const child: ChildProcess = spawn(process.execPath, [...NODE_FLAGS, ...profile, 'service/main.ts'], {
    cwd: root,
    // LOG_LEVEL info, as deployed (docker-compose.yml): the access log is at debug, so no line per request.
    env: { ...process.env, ...NODE_ENV_VARS, LOG_LEVEL: 'info', ...env, ROLE: role, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const gone = () => child.exitCode !== null || child.signalCode !== null
  bench.cleanups.push(`kill the service (${role}) if still running`, () => gone() || child.kill('SIGKILL'))
  // Its output is shown only if it fails; the last 20 KB are enough to say why.
  let output = ''
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = once(child, 'exit')
  const url = `http://127.0.0.1:${port}`
  const started = performance.now()
  const deadline = Date.now() + 90_000
  for (;;) {
    if (gone()) throw new Error(`the service (${role}) exited with ${child.exitCode}:\n${output}`)
    if (Date.now() > deadline) throw new Error(`the service (${role}) not ready after 90 s:\n${output}`)
    const status = await fetch(`${url}/health/ready`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) break
    await new Promise((r) => setTimeout(r, 250))
  }
  log(
    `service (ROLE=${role}, pid ${child.pid}) ready at ${url} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  return {
    url,
    pid: child.pid!,
    role,
    async stop() {
      const from = performance.now()
      if (!gone()) child.kill('SIGTERM')
      const [code] = await exited
      if (code !== 0)
        log(`the service (${role}) exited with ${code}; its last output:\n${output.slice(-3000)}`)
      return { code, seconds: (performance.now() - from) / 1000 }
    },
  }
}
