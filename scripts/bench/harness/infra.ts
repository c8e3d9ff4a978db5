/**
 * What a benchmark sets up and tears down: the local broker (started only when nothing answers,
 * stopped only if we started it), a database and topics of its own, the description of the machine it
 * ran on, and the clean-up that undoes it all whatever happens.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { Admin, Consumer } from '@platformatic/kafka'
import pg from 'pg'
import { withTimeout } from '../../../topology/retry.ts'

const root = new URL('../../../', import.meta.url).pathname

export const log = (msg: string) =>
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

export interface Cleanup {
  /** Registers a step; steps run in reverse order of registration. */
  push(what: string, run: () => unknown): void
  /** Runs every registered step once; later calls wait for the same run. */
  run(): Promise<void>
}

/**
 * What a benchmark created, undone last first, exactly once: at the normal end, on Ctrl-C or SIGTERM,
 * or when the whole run overruns its limit (then it exits 1). Each step gets 60 s.
 */
export function installCleanup(overallMs: number): Cleanup {
  const steps: Array<{ what: string; run: () => unknown }> = []
  let running: Promise<void> | undefined
  const run = () => {
    running ??= (async () => {
      for (const { what, run: step } of steps.splice(0).reverse()) {
        try {
          await withTimeout(Promise.resolve(step()), 60_000, what)
        } catch (error) {
          log(`cleanup "${what}" failed: ${(error as Error).message}`)
        }
      }
    })()
    return running
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`)
      void run().finally(() => process.exit(130))
    })
  }
  setTimeout(() => {
    log(`the whole run took longer than ${overallMs / 60_000} min: giving up`)
    void run().finally(() => process.exit(1))
  }, overallMs).unref()
  return { push: (what, step) => steps.push({ what, run: step }), run }
}

/** Starts the local broker when nothing answers; returns a function that undoes only what it did. */
export function ensureBroker(): { brokers: string[]; stop: () => void; source: string } {
  if (process.env.KAFKA_BROKERS) {
    return { brokers: process.env.KAFKA_BROKERS.split(','), stop: () => {}, source: 'KAFKA_BROKERS' }
  }
  const status = spawnSync('bash', [`${root}scripts/kafka.sh`, 'status'], { encoding: 'utf8' })
  const wasRunning = status.status === 0
  // `start` is idempotent: it also waits for a broker that is still starting.
  execFileSync('bash', [`${root}scripts/kafka.sh`, 'start'], { stdio: ['ignore', 'inherit', 'inherit'] })
  return {
    brokers: ['127.0.0.1:9092'],
    source: 'Kafka 4.4.0 local single-node KRaft broker (scripts/kafka.sh, -Xmx512m)',
    stop: () => {
      if (wasRunning) return log('leaving the broker running (it was running before)')
      execFileSync('bash', [`${root}scripts/kafka.sh`, 'stop'], { stdio: ['ignore', 'inherit', 'inherit'] })
    },
  }
}

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A client of `url` (default: the server's maintenance database) for the length of `fn`. */
export async function withClient<T>(url: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const server = new URL(serverUrl)
  server.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url ?? server.toString() })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** A database of the benchmark's own; `drop` removes it (closing whatever is still connected). */
export async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `cs_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  await withClient(undefined, (c) => c.query(`CREATE DATABASE ${name}`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: () => withClient(undefined, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(),
  }
}

/** What every child phase needs to reach the run's broker and database (JSON: it crosses to the child). */
export interface PhaseBase {
  brokers: string[]
  databaseUrl: string
  /** The database's name: its PostgreSQL backends count as "postgres" in the CPU table. */
  database: string
}

/**
 * Topics and consumer groups of this run, all deleted by `cleanup`: every name it gives carries the
 * run's suffix (`bench-<prefix>-<suffix>`), so topics and groups others made under such a name are the
 * run's too.
 */
export class KafkaScratch {
  readonly admin: Admin
  readonly brokers: string[]
  readonly #topics: string[] = []
  readonly #groups: string[] = []
  readonly #consumer: Consumer
  readonly suffix = randomUUID().slice(0, 8)

  constructor(brokers: string[]) {
    this.brokers = brokers
    this.admin = new Admin({ clientId: `bench-admin-${this.suffix}`, bootstrapBrokers: brokers })
    this.#consumer = new Consumer({
      clientId: `bench-offsets-${this.suffix}`,
      groupId: `bench-offsets-${this.suffix}`,
      bootstrapBrokers: brokers,
    })
  }

  name(prefix: string): string {
    return `bench-${prefix}-${this.suffix}`
  }

  group(prefix: string): string {
    const group = this.name(prefix)
    this.#groups.push(group)
    return group
  }

  /** Creates `bench-<prefix>-<suffix>`. */
  async createTopic(prefix: string, partitions: number): Promise<string> {
    return (await this.createTopics([this.name(prefix)], partitions))[0]!
  }

  /** Creates topics by their exact names (e.g. a deployment's prefixed names and their DLQs). */
  async createTopics(topics: string[], partitions: number): Promise<string[]> {
    for (const topic of topics) {
      await withTimeout(
        this.admin.createTopics({ topics: [topic], partitions, replicas: 1 }),
        30_000,
        `createTopics ${topic}`,
      )
      this.#topics.push(topic)
    }
    return topics
  }

  /** The high watermark of each partition (the next offset to be written). */
  async endOffsets(topic: string): Promise<bigint[]> {
    const offsets = await withTimeout(
      this.#consumer.listOffsets({ topics: [topic], timestamp: -1n }),
      10_000,
      `listOffsets ${topic}`,
    )
    return offsets.get(topic) ?? []
  }

  async total(topic: string): Promise<number> {
    return (await this.endOffsets(topic)).reduce((sum, o) => sum + Number(o), 0)
  }

  /** Fails unless `topic` holds exactly `count` records. */
  async expectTotal(topic: string, count: number): Promise<bigint[]> {
    const ends = await this.endOffsets(topic)
    const held = ends.reduce((s, o) => s + Number(o), 0)
    if (held !== count) throw new Error(`${topic} holds ${held} records, not ${count}`)
    return ends
  }

  async cleanup(): Promise<void> {
    await this.#consumer.close().catch(() => {})
    const groups = await this.#allGroups()
    await deleteGroups(this.admin, groups).catch((e) => log(`could not delete consumer groups: ${e}`))
    const topics = await this.#allTopics()
    if (topics.length > 0)
      await withTimeout(this.admin.deleteTopics({ topics }), 30_000, 'deleteTopics').catch((e) =>
        log(`could not delete topics ${topics.join(', ')}: ${e}`),
      )
    await this.admin.close().catch(() => {})
  }

  /**
   * The topics created here and those named after this run by others: a measured app's runtime creates
   * its topology's internal topics (`<applicationId>-<name>` and their DLQs) at start, and the
   * application id is one of our groups. No list here has to name them.
   */
  async #allTopics(): Promise<string[]> {
    const ours = new RegExp(`-${this.suffix}([.-]|$)`)
    const listed = await withTimeout(this.admin.listTopics(), 10_000, 'listTopics').catch((e) => {
      log(`could not list topics (only those created here are deleted): ${e}`)
      return []
    })
    return [...new Set([...this.#topics, ...listed.filter((t) => ours.test(t))])]
  }

  /**
   * The groups named here and those others named after them: the service's sales-ranking projector
   * joins `<applicationId>-ranking` (bench:edge runs the service, whose application id is one of ours).
   */
  async #allGroups(): Promise<string[]> {
    const ours = new RegExp(`-${this.suffix}([.-]|$)`)
    const listed = await withTimeout(this.admin.listGroups(), 10_000, 'listGroups').catch((e) => {
      log(`could not list consumer groups (only those named here are deleted): ${e}`)
      return new Map<string, unknown>()
    })
    return [...new Set([...this.#groups, ...[...listed.keys()].filter((g) => ours.test(g))])]
  }
}

/**
 * Deletes the groups, waiting out the session of a member that was killed (an interrupted run): the
 * broker refuses to delete a group that is not empty. A group that never existed is fine.
 */
async function deleteGroups(admin: Admin, groups: readonly string[]): Promise<void> {
  for (const group of groups) {
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        await withTimeout(admin.deleteGroups({ groups: [group] }), 15_000, 'deleteGroups')
        break
      } catch (e) {
        const text = `${e} ${JSON.stringify((e as { errors?: unknown }).errors ?? '')} ${(e as Error).cause ?? ''}`
        if (/does not exist|GROUP_ID_NOT_FOUND/i.test(text)) break
        if (!/not empty|NON_EMPTY_GROUP/i.test(text) || Date.now() > deadline) throw e
        await new Promise((r) => setTimeout(r, 1_000))
      }
    }
  }
}

/** The machine, as the report prints it. */
export async function describeMachine(kafka: string): Promise<Record<string, string>> {
  const cpuModel =
    /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model
  // `free -g`: a header line (total used free shared buff/cache available), then "Mem: 23 1 …".
  const [header, mem] = spawnSync('free', ['-g'], { encoding: 'utf8' }).stdout.trim().split('\n')
  const names = header?.trim().split(/\s+/) ?? []
  const values = mem?.trim().split(/\s+/).slice(1) ?? []
  const free = names.map((n, i) => `${n} ${values[i]}`).join(', ')
  const settings = await withClient(undefined, async (c) => {
    const show = async (name: string) => (await c.query(`show ${name}`)).rows[0][name] as string
    const names = ['synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', 'autovacuum']
    const values = []
    for (const name of names) values.push(`${name}=${await show(name)}`)
    // Settings changed from PostgreSQL's built-in defaults, and where (e.g. a CI conf.d file).
    const { rows } = await c.query(
      `select name, setting, sourcefile from pg_settings where source = 'configuration file' and name = any($1)`,
      [names],
    )
    const changed = rows.map((r) => `${r.name}=${r.setting} (${r.sourcefile})`)
    return { version: await show('server_version'), values, changed }
  })
  return {
    cpu: `${cpuModel}, nproc ${os.availableParallelism()}`,
    memory: `free -g (GiB): ${free}`,
    node: process.version,
    kafka,
    postgres:
      `PostgreSQL ${settings.version} on the same machine, local TCP; ${settings.values.join(', ')}` +
      (settings.changed.length > 0 ? `; set in configuration files: ${settings.changed.join(', ')}` : ''),
    load: `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  }
}
