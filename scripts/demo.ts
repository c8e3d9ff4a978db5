/**
 * The main command (`./run demo`): brings up the local Kafka broker and the service, runs a flash
 * sale through the HTTP API, and prints a report. `--keep` leaves the service running afterwards;
 * otherwise it is stopped gracefully and the broker is left up for the next run (`./run kafka stop`).
 * Then the order rush (scripts/demo/order-rush.ts) and its conservation report.
 * Sizes: `--users 10000 --coupons 10 --units 100 --requests 30000 --concurrency 200`,
 * `--products 20 --stock 150 --orders 3000 --topic-orders 200`.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { loadConfig } from '../service/config.ts'
import { NODE_ENV_VARS, NODE_FLAGS } from './bench/harness/bench.ts'
import { runFlashSale } from './demo/flash-sale.ts'
import { Api } from './demo/http.ts'
import { runOrderRush } from './demo/order-rush.ts'

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    users: { type: 'string', default: '10000' },
    coupons: { type: 'string', default: '10' },
    units: { type: 'string', default: '100' },
    requests: { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '200' },
    products: { type: 'string', default: '20' },
    stock: { type: 'string', default: '150' },
    orders: { type: 'string', default: '3000' },
    'topic-orders': { type: 'string', default: '200' },
  },
})
const config = loadConfig()
const base = `http://127.0.0.1:${config.port}`
const adminToken = config.adminToken ?? randomBytes(16).toString('hex')

function section(title: string) {
  process.stdout.write(`\n== ${title}\n`)
}

async function waitReady(timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs
  let last: unknown = 'no answer'
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/health/ready`)
      last = await response.json()
      if (response.ok) return last
    } catch (error) {
      last = String(error)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`not ready after ${timeoutMs} ms: ${JSON.stringify(last)}`)
}

section('Kafka broker')
if (process.env.KAFKA_BROKERS) process.stdout.write(`using KAFKA_BROKERS=${process.env.KAFKA_BROKERS}\n`)
else execFileSync('bash', ['scripts/kafka.sh', 'start'], { stdio: 'inherit' })

section('Service')
const started = performance.now()
// With the Node flags and environment `npm start` and the Dockerfile give it: the demo shows the service as it runs.
const service = spawn(process.execPath, [...NODE_FLAGS, 'service/main.ts'], {
  env: { LOG_LEVEL: 'warn', ...process.env, ...NODE_ENV_VARS, ADMIN_TOKEN: adminToken },
  stdio: ['ignore', 'inherit', 'inherit'],
})
const exited = once(service, 'exit')
let ok = false
try {
  const report = await Promise.race([
    waitReady(90_000),
    exited.then(([code]) => Promise.reject(new Error(`the service exited with code ${code}`))),
  ])
  process.stdout.write(
    `ready in ${((performance.now() - started) / 1000).toFixed(1)}s: ${JSON.stringify(report)}\n`,
  )
  const api = new Api(base, adminToken)
  const saleOk = await runFlashSale(api, config.databaseUrl, {
    users: Number(args.users),
    coupons: Number(args.coupons),
    unitsPerCoupon: Number(args.units),
    requests: Number(args.requests),
    concurrency: Number(args.concurrency),
  })
  const rushOk = await runOrderRush(api, config, {
    products: Number(args.products),
    stock: Number(args.stock),
    orders: Number(args.orders),
    topicOrders: Number(args['topic-orders']),
    concurrency: Number(args.concurrency),
  })
  ok = saleOk && rushOk
  process.stdout.write(
    `\nWhere to look: ${base}/metrics (Prometheus), ${base}/topology, ${base}/docs (OpenAPI)\n`,
  )
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`)
}

if (args.keep && ok) {
  process.stdout.write(
    `service running with ADMIN_TOKEN=${adminToken}; Ctrl-C stops it (the broker stays up)\n`,
  )
  process.on('SIGINT', () => service.kill('SIGTERM'))
  await exited
} else {
  service.kill('SIGTERM')
  const [code] = await exited
  process.stdout.write(`service stopped (exit ${code}); broker left running: ./run kafka stop\n`)
  process.exit(ok && code === 0 ? 0 : 1)
}
