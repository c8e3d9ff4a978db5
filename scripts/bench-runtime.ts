/**
 * The runtime benchmark (`./run bench:runtime [--records N] [--per-record-records M]`): on the same
 * records, the raw consume rate of the client (the ceiling), the runtime with batched commits, and the
 * runtime with one transaction per record; end-to-end latency, peak RSS. Prints the results and writes
 * them to BENCHMARKS.md. It creates its own database and topics and removes them; it starts the local
 * broker only when nothing answers, and then stops it again.
 *
 * Other options: --partitions 3 --keys 10000 --max-batch 500 --linger-ms 5 --max-queue-bytes 2097152 --relay-batch 1000
 * --live-rate 5000 --live-seconds 10 --profile DIR (CPU profiles of the runtime processes)
 * --out FILE (instead of BENCHMARKS.md) --no-write (print only).
 */
import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { createDb } from '../state/db.ts'
import { migrateToLatest } from '../state/migrate.ts'
import { installCleanup } from './bench/cleanup.ts'
import {
  createDatabase,
  describeMachine,
  ensureBroker,
  KafkaScratch,
  log,
  produceAtRate,
  produceBulk,
} from './bench/infra.ts'
import { messagesStreamRate, rawFetcherRate } from './bench/measure.ts'
import { render, writeSection } from './bench/report.ts'
import { type PhaseConfig, type Rate, type RuntimeSettings, runPhase } from './bench/runtime-harness.ts'

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    'per-record-records': { type: 'string', default: '20000' },
    partitions: { type: 'string', default: '3' },
    keys: { type: 'string', default: '10000' },
    'max-batch': { type: 'string', default: '500' },
    'linger-ms': { type: 'string', default: '5' },
    'max-queue-bytes': { type: 'string', default: '2097152' },
    'relay-batch': { type: 'string', default: '1000' },
    'live-rate': { type: 'string', default: '5000' },
    'live-seconds': { type: 'string', default: '10' },
    profile: { type: 'string' },
    out: { type: 'string', default: new URL('../BENCHMARKS.md', import.meta.url).pathname },
    'no-write': { type: 'boolean', default: false },
  },
})
const int = (name: keyof typeof args, min = 1) => {
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer ≥ ${min}, got ${args[name]}`)
  return n
}
const N = int('records')
const M = int('per-record-records')
const partitions = int('partitions')
const keys = int('keys')
const settings: RuntimeSettings = {
  maxBatch: int('max-batch'),
  lingerMs: int('linger-ms', 0),
  maxQueueBytes: int('max-queue-bytes'),
  relayBatch: int('relay-batch'),
}
const liveRate = int('live-rate')
const liveSeconds = int('live-seconds')
const execArgv = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : []
const OVERALL_MS = 45 * 60_000
/**
 * Every phase has a deadline: a minute plus its records at a floor rate far below what it does here
 * (and inside, a wait fails when progress stalls for a minute).
 */
const phaseTimeout = (records: number, floorPerSecond = 2_000) => 60_000 + (records / floorPerSecond) * 1000

const cleanups = installCleanup(OVERALL_MS)

const per = (r: Rate) => `${r.records} in ${r.seconds.toFixed(2)}s (${Math.round(r.records / r.seconds)}/s)`

async function main() {
  const command = `node scripts/bench-runtime.ts ${process.argv.slice(2).join(' ')}`.trim()
  log(`${command}: ${N} records, per-record run over ${M}, ${partitions} partitions, ${keys} keys`)
  const broker = ensureBroker()
  cleanups.push({ what: 'stop the broker if we started it', run: broker.stop })
  const machine = await describeMachine(broker.source)
  for (const [k, v] of Object.entries(machine)) log(`${k}: ${v}`)

  const database = await createDatabase()
  cleanups.push({ what: `drop database ${database.name}`, run: database.drop })
  const db = createDb({ url: database.url, maxConnections: 2 })
  await migrateToLatest(db as Kysely<unknown>)
  await db.destroy()

  const scratch = new KafkaScratch(broker.brokers)
  cleanups.push({ what: 'delete topics and consumer groups', run: () => scratch.cleanup() })
  const input = await scratch.createTopic('events', partitions)
  const output = await scratch.createTopic('counted', partitions)
  const prefixInput = await scratch.createTopic('events-prefix', partitions)
  const prefixOutput = await scratch.createTopic('counted-prefix', partitions)

  log(`producing ${N} records to ${input}, and the first ${M} of them to ${prefixInput}`)
  const produce = { records: N, seconds: await produceBulk(broker.brokers, input, { count: N, keys }) }
  log(`produced ${per(produce)}`)
  await produceBulk(broker.brokers, prefixInput, { count: M, keys })
  const ends = await scratch.endOffsets(input)
  const held = ends.reduce((s, o) => s + Number(o), 0)
  if (held !== N) throw new Error(`${input} holds ${held} records, not ${N}`)
  if ((await scratch.total(prefixInput)) !== M) throw new Error(`${prefixInput} does not hold ${M} records`)

  // (a) the ceiling, twice (the first run also warms the JIT); then the client's own stream.
  const fetcher: Rate[] = []
  let fetcherCpu: Awaited<ReturnType<typeof rawFetcherRate>>['cpu'] | undefined
  for (let run = 1; run <= 2; run++) {
    const r = await rawFetcherRate(
      broker.brokers,
      scratch.name(`raw${run}`),
      input,
      ends,
      phaseTimeout(N),
      database.name,
    )
    if (r.records !== N) throw new Error(`the raw Fetcher read ${r.records} records, not ${N}`)
    log(`raw Fetcher run ${run}: ${per(r)}`)
    if (fetcher.every((f) => f.records / f.seconds < r.records / r.seconds)) fetcherCpu = r.cpu
    fetcher.push({ records: r.records, seconds: r.seconds })
  }
  let messagesStream: Rate | string
  try {
    messagesStream = await messagesStreamRate(
      broker.brokers,
      scratch.group('stream'),
      input,
      N,
      phaseTimeout(N),
    )
    log(`MessagesStream: ${per(messagesStream)}`)
  } catch (error) {
    messagesStream = `failed: ${(error as Error).message}`
    log(`MessagesStream ${messagesStream}`)
  }

  const phase = (
    name: string,
    input: string,
    output: string,
    total: number,
    extra: Partial<PhaseConfig> = {},
  ) => {
    const config: PhaseConfig = {
      mode: 'runtime',
      brokers: broker.brokers,
      databaseUrl: database.url,
      database: database.name,
      applicationId: extra.mode === 'storage' ? scratch.name(name) : scratch.group(name),
      input,
      output,
      total,
      partitions,
      settings,
      live: false,
      ...extra,
    }
    let kill = () => {}
    cleanups.push({ what: `kill the ${name} process if still running`, run: () => kill() })
    return { config, onChild: (k: () => void) => (kill = k) }
  }

  // The PostgreSQL commit path alone, for reference: how fast can batches of this shape commit at all?
  const storageRecords = Math.min(N, 300_000)
  const s = phase('storage', input, output, storageRecords, { mode: 'storage' })
  log(`storage ceiling: PostgresStateBackend.commit alone, ${storageRecords} records`)
  const storage = (await runPhase(s.config, { timeoutMs: phaseTimeout(storageRecords), onChild: s.onChild }))
    .storage!
  log(`storage ceiling: ${per(storage)}`)

  // (b) the runtime over the backlog, then (d) live records at a fixed rate.
  const b = phase('app', input, output, N, { live: true })
  log(
    `runtime (maxBatch ${settings.maxBatch}, lingerMs ${settings.lingerMs}, maxQueueBytes ${settings.maxQueueBytes}) over ${N} records`,
  )
  let live = { sent: 0, seconds: 0 }
  const main = await runPhase(b.config, {
    timeoutMs: phaseTimeout(N) + liveSeconds * 1000 + 240_000,
    execArgv,
    onChild: b.onChild,
    onCaughtUp: async () => {
      log(`caught up; live: ${liveRate} records/s for ${liveSeconds}s`)
      live = await produceAtRate(broker.brokers, input, {
        from: N,
        rate: liveRate,
        seconds: liveSeconds,
        keys,
      })
      return N + live.sent
    },
  })
  const runtime = main.runtime!
  log(`runtime: committed ${per(runtime.committed)}, published ${per(runtime.published)}`)
  log(
    `live: commit p50 ${(main.live!.exact.p50 * 1000).toFixed(1)} ms, p99 ${(main.live!.exact.p99 * 1000).toFixed(1)} ms; ` +
      `publication p50 ${(main.live!.publish.p50 * 1000).toFixed(1)} ms, p99 ${(main.live!.publish.p99 * 1000).toFixed(1)} ms`,
  )

  // (c) one transaction per record, on the prefix topic.
  const c = phase('app-per-record', prefixInput, prefixOutput, M, { settings: { ...settings, maxBatch: 1 } })
  log(`per-record runtime (maxBatch 1) over ${M} records`)
  const perRecord = (
    await runPhase(c.config, { timeoutMs: phaseTimeout(M, 100), execArgv, onChild: c.onChild })
  ).runtime!
  log(`per-record: committed ${per(perRecord.committed)}`)

  return {
    date: `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    command,
    machine,
    params: { records: N, perRecordRecords: M, partitions, keys, ...settings },
    produce,
    fetcher,
    fetcherCpu: fetcherCpu!,
    messagesStream,
    storage,
    runtime,
    rss: main.rss!,
    queuedLatency: main.queuedLatency!,
    maxQueued: main.maxQueued ?? 0,
    live: { ...main.live!, sent: live.sent, rate: liveRate, seconds: live.seconds },
    perRecord,
  }
}

let exitCode = 0
try {
  const results = await main()
  const text = render(results)
  process.stdout.write(`\n${text}\n`)
  if (!args['no-write']) {
    writeSection(args.out, text)
    log(`results written to ${args.out}`)
  }
} catch (error) {
  process.stderr.write(`bench:runtime failed: ${(error as Error).stack ?? error}\n`)
  exitCode = 1
} finally {
  await cleanups.run()
}
process.exit(exitCode)
