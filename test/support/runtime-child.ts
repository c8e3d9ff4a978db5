/**
 * A runtime process for the chaos tests: the counting topology (or, with MIDDLE, the two-processor
 * chain) on the real broker and PostgreSQL, configured by environment, logging JSON lines to stdout. Tests SIGKILL, SIGSTOP and restart it.
 */
import { StreamsApp } from '../../topology/streams-app.ts'
import { chainTopology } from './chain-topology.ts'
import { countingTopology } from './counting-topology.ts'
import { migratedDb } from './runtime-fixtures.ts'

const env = (name: string) => {
  const value = process.env[name]
  if (!value) throw new Error(`runtime-child: ${name} is required`)
  return value
}

const line = (level: string) => (obj: object, msg: string) =>
  process.stdout.write(`${JSON.stringify({ level, msg, instance: process.env.INSTANCE, ...obj })}\n`)
const log = { info: line('info'), warn: line('warn'), error: line('error') }

const brokers = env('BROKERS').split(',')
const db = await migratedDb(env('DATABASE_URL'))
const app = new StreamsApp(
  // With MIDDLE: two processors joined by that topic (test/support/chain-topology.ts).
  process.env.MIDDLE
    ? chainTopology({
        applicationId: env('APP_ID'),
        input: env('INPUT'),
        middle: env('MIDDLE'),
        output: env('OUTPUT'),
      })
    : countingTopology({ applicationId: env('APP_ID'), input: env('INPUT'), output: env('OUTPUT') }),
  {
    brokers,
    db,
    log,
    metricsPrefix: 'commerce_',
    instanceId: process.env.INSTANCE,
    sessionTimeoutMs: Number(process.env.SESSION_MS ?? 3_000),
    maxBatch: Number(process.env.MAX_BATCH ?? 500),
  },
)

process.on('SIGTERM', async () => {
  await app.stop()
  await db.destroy()
  log.info({}, 'stopped')
  process.exit(0)
})

await app.start()
log.info({}, 'started')
