/**
 * The benchmark harness: what every benchmark does around its own measurements. `runBenchmark` parses
 * the options (the common ones below and the benchmark's own), starts the broker if nothing answers,
 * describes the machine, creates a migrated database and a topic scratch of the run's own, runs the
 * benchmark, prints its report, fails the run if a correctness check failed, writes the report to the
 * benchmark's section of BENCHMARKS.md, and undoes everything it set up — also on Ctrl-C or overrun.
 * A benchmark is a `Benchmark` (one file under scripts/bench/<name>/); see docs/benchmarks.md.
 */
import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { createDb } from '../../../state/db.ts'
import { migrateToLatest } from '../../../state/migrate.ts'
import { RELAY_DEFAULTS } from '../../../topology/postgres/outbox-relay.ts'
import { type RelayPlacement, RelayPlacements } from '../../../topology/streams-app.ts'
import type { AppPhaseConfig, RuntimeSettings } from './app-run.ts'
import {
  type Cleanup,
  createDatabase,
  describeMachine,
  ensureBroker,
  installCleanup,
  KafkaScratch,
  log,
  type PhaseBase,
} from './infra.ts'
import { type ChildPhase, type ForkOptions, forkPhase } from './phase.ts'
import { writeMarkedSection } from './report.ts'

/**
 * V8 flags of every child phase, as the service runs (package.json `start`, the Dockerfile). V8 sizes
 * its heap by the machine's memory (23 GB here: a 4 GB limit), which made a runtime whose live heap is
 * ~40 MB hold ~300 MB: the young generation grew to 2 × 64 MiB semi-spaces (134 MB) under the
 * allocation rate, and the old generation was let grow to 4× what survived its last full GC. 16 MiB
 * semi-spaces make the young generation 34 MB; a 1 GiB old-space limit (25× the live heap) makes V8
 * grow the old generation by ~1.6× instead of 4× (its growing factor scales with the limit below
 * 2 GiB). Measured over 1M records: peak RSS 374/380 → 247/253 MB, commit time 24.3/26.1 → 29.9/27.0 s.
 */
export const NODE_FLAGS = ['--max-semi-space-size=16', '--max-old-space-size=1024']

/**
 * The environment every child phase runs with beside NODE_FLAGS, as the service runs (package.json
 * `start`, the Dockerfile's ENV): glibc's malloc with a fixed mmap threshold of 128 KiB, its default.
 * By default glibc raises that threshold to the largest block freed, and its trim threshold to twice
 * that, so after start-up (module loading, compiling) had freed large blocks, the arenas of the
 * runtime's threads (the tasks', the relay's, V8's helpers) kept their freed memory instead of giving
 * it back. Fixing either threshold turns that off; the runtime's threads allocate few blocks of
 * 128 KiB or more (a perf probe on malloc: 2 in 8 s), so mapping those costs nothing measurable.
 * Measured over 1M records (bench:runtime): peak RSS 293/298 → 269/272 MB, 38.5k/35.5k → 24.0k (a
 * busy machine)/40.8k records/s committed (docs/benchmarks.md, "Memory of the runtime process").
 */
export const NODE_ENV_VARS = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  /**
   * Node's compile cache, relative to the repository (the service's working directory): the modules as
   * stripped JavaScript and V8 code, filled before the first start (service/main.ts, WARM_COMPILE_CACHE;
   * the benchmarks' phases: harness/phase.ts). A start that finds every module there never loads the
   * TypeScript stripper, whose WebAssembly kept ~17 MB of RSS for the life of the process: over 10M
   * records (bench:runtime-long) the peak was 253 MB without the cache (docs/benchmarks.md).
   */
  NODE_COMPILE_CACHE: '.cache/node-compile-cache',
} as const

/** Options every benchmark takes, with their defaults: the runtime's settings for ours. */
const SETTINGS = {
  partitions: '3',
  'max-batch': '500',
  'linger-ms': '5',
  'max-queue-bytes': '2097152',
  // The service's relay round. At 1,000 records (the default here before) a round's fixed ~10 ms capped
  // publication near 33k records/s while the tasks committed 50k+ (docs/benchmarks.md).
  'relay-batch': String(RELAY_DEFAULTS.batchSize),
  // The service's placement (RELAY_PLACEMENT's default); `--relay thread` for the A/B.
  relay: 'inline',
}

/** Its options for parseArgs: the settings and the benchmark's own (strings), and where the report goes. */
const parseOptions = (own: Record<string, string>) =>
  ({
    ...Object.fromEntries(
      Object.entries({ ...SETTINGS, ...own }).map(([name, value]) => [
        name,
        { type: 'string', default: value } as const,
      ]),
    ),
    /** A directory for CPU profiles of the phases that ask for one (`profile: true`). */
    profile: { type: 'string' },
    /**
     * Node/V8 flags added after NODE_FLAGS for the phases that run ours, for experiments (a later flag
     * wins): `--node-flags=--perf-basic-prof` to read JIT frames in `perf`, `--node-flags="--trace-gc --no-maglev"`
     * (with `=`: a value starting with `-` is otherwise taken for an option).
     * A run with any is not how the service runs (its report's command line names them).
     */
    'node-flags': { type: 'string', default: '' },
    out: { type: 'string', default: new URL('../../../BENCHMARKS.md', import.meta.url).pathname },
    'no-write': { type: 'boolean', default: false },
  }) as const

export interface Benchmark<P, R> {
  /** `node scripts/bench.ts <name>` (`./run bench:<name>`), and its section's marker in BENCHMARKS.md. */
  name: string
  /** The section's heading. */
  title: string
  /** Its own options and their defaults (read with `bench.int`/`bench.number`), beside the common ones. */
  options: Record<string, string>
  /** The whole run is given up (and cleaned up) after this long. */
  overallMinutes: number
  /** Reads and checks its options, before anything is set up (a bad option costs nothing). */
  params(bench: Bench): P
  /** Sets up its workload, runs its phases; returns what `render` and `failures` need. */
  run(bench: Bench, params: P): Promise<R>
  /** The report below the run's date and machine (Markdown). */
  render(results: R, params: P, bench: Bench): string
  /** The correctness checks that failed; any fails the run, and BENCHMARKS.md is not written. */
  failures?(results: R): string[]
  /** The "How it measures" paragraph that closes the section. */
  method: string
}

/** What a running benchmark gets from the harness. */
export class Bench {
  readonly args: Readonly<Record<string, string | boolean | undefined>>
  readonly command: string
  readonly cleanups: Cleanup
  brokers: string[] = []
  machine: Record<string, string> = {}
  database = { name: '', url: '' }
  scratch!: KafkaScratch
  readonly partitions: number
  readonly settings: RuntimeSettings

  constructor(name: string, args: Bench['args'], argv: string[], cleanups: Cleanup) {
    this.args = args
    this.command = `node scripts/bench.ts ${[name, ...argv].join(' ')}`
    this.cleanups = cleanups
    this.partitions = this.int('partitions')
    this.settings = {
      maxBatch: this.int('max-batch'),
      lingerMs: this.int('linger-ms', 0),
      maxQueueBytes: this.int('max-queue-bytes'),
      relayBatch: this.int('relay-batch'),
      relay: this.relayPlacement(),
    }
  }

  /** An integer option in min…max, or a clear error naming it. */
  int(name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
    const n = Number(this.args[name])
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer in ${min}…${max}, got ${this.args[name]}`)
    return n
  }

  /** --relay: where ours runs its outbox relay. */
  relayPlacement(): RelayPlacement {
    const value = this.args.relay
    const found = RelayPlacements.find((p) => p === value)
    if (!found) throw new Error(`--relay must be one of ${RelayPlacements.join(', ')}, got ${value}`)
    return found
  }

  /** A number option in [min, max), or a clear error naming it. */
  number(name: string, min: number, max: number): number {
    const n = Number(this.args[name])
    if (!(n >= min && n < max))
      throw new Error(`--${name} must be in [${min}, ${max}), got ${this.args[name]}`)
    return n
  }

  /** The broker, the machine, the database (migrated) and the scratch; each undone by the clean-up. */
  async open(): Promise<void> {
    const broker = ensureBroker()
    this.cleanups.push('stop the broker if we started it', broker.stop)
    this.brokers = broker.brokers
    this.machine = await describeMachine(broker.source)
    for (const [k, v] of Object.entries(this.machine)) log(`${k}: ${v}`)
    const database = await createDatabase()
    this.cleanups.push(`drop database ${database.name}`, database.drop)
    this.database = database
    const db = createDb({ url: database.url, maxConnections: 2 })
    await migrateToLatest(db as Kysely<unknown>)
    await db.destroy()
    this.scratch = new KafkaScratch(this.brokers)
    this.cleanups.push('delete topics and consumer groups', () => this.scratch.cleanup())
  }

  /** What every child phase needs: the broker and the database. */
  base(): PhaseBase {
    return { brokers: this.brokers, databaseUrl: this.database.url, database: this.database.name }
  }

  /** A child phase's config for ours, as an application (a consumer group deleted at the end) named `name`. */
  appConfig(name: string, input: string, output: string, total: number): AppPhaseConfig {
    const applicationId = this.scratch.group(name)
    return { ...this.base(), applicationId, input, output, total, settings: this.settings }
  }

  /**
   * Runs `phase` in a child process of its own, killed if still running at clean-up. It gives up after
   * a minute plus `records` at `floorPerSecond`, a rate far below what the phase does here (and inside,
   * each wait fails when progress stalls for a minute). `profile`: CPU-profile it when --profile is set.
   */
  phase<C, R>(
    phase: ChildPhase<C, R>,
    config: C,
    options: {
      label: string
      records: number
      floorPerSecond: number
      extraMs?: number
      profile?: boolean
    } & Pick<ForkOptions, 'answer'>,
  ): Promise<R> {
    const { label, records, floorPerSecond, extraMs = 0, profile, answer } = options
    const dir = this.args.profile
    let kill = () => {}
    this.cleanups.push(`kill the ${label} process if still running`, () => kill())
    return forkPhase(phase, config, {
      label,
      timeoutMs: 60_000 + (records / floorPerSecond) * 1000 + extraMs,
      execArgv: [
        ...NODE_FLAGS,
        ...String(this.args['node-flags']).split(' ').filter(Boolean),
        ...(profile && dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
      ],
      env: NODE_ENV_VARS,
      onChild: (k) => (kill = k),
      ...(answer ? { answer } : {}),
    })
  }
}

/** Runs one benchmark from its command-line arguments; returns the process's exit code. */
export async function runBenchmark<P, R>(benchmark: Benchmark<P, R>, argv: string[]): Promise<number> {
  const cleanups = installCleanup(benchmark.overallMinutes * 60_000)
  const fail = (what: string) => process.stderr.write(`bench:${benchmark.name}: ${what}\n`)
  try {
    const { values } = parseArgs({ args: argv, options: parseOptions(benchmark.options) })
    const bench = new Bench(benchmark.name, values, argv, cleanups)
    const params = benchmark.params(bench)
    log(bench.command)
    await bench.open()
    const results = await benchmark.run(bench, params)
    const date = `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`
    const machine = Object.entries(bench.machine).map(([k, v]) => `- ${k}: ${v}`)
    const text = [
      `Run on ${date}: \`${bench.command}\``,
      '',
      'Machine:',
      '',
      ...machine,
      '',
      benchmark.render(results, params, bench),
    ].join('\n')
    process.stdout.write(`\n${text}\n`)
    const failures = benchmark.failures?.(results) ?? []
    if (failures.length > 0) {
      fail(`WRONG RESULTS (${failures.join('; ')}; see the correctness table); BENCHMARKS.md not written`)
      return 1
    }
    const out = String(values.out)
    if (!values['no-write']) {
      writeMarkedSection(out, benchmark.name, `## ${benchmark.title}\n\n${text}\n\n${benchmark.method}`)
      log(`results written to ${out}`)
    }
    return 0
  } catch (error) {
    fail(`failed: ${(error as Error).stack ?? error}`)
    return 1
  } finally {
    await cleanups.run()
  }
}
