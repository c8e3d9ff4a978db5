/**
 * What the runtime benchmark sets up and tears down: the local broker (started only when nothing
 * answers, stopped only if we started it), a database and topics of its own, the records it produces,
 * and the description of the machine it ran on.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { Admin, Consumer, compatibilityPartitioner, Producer } from '@platformatic/kafka'
import pg from 'pg'
import { withTimeout } from '../../topology/retry.ts'

const root = new URL('../../', import.meta.url).pathname

export const log = (msg: string) =>
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

/** Polls `check` until it returns true; fails loudly with what it waited for (and the last state). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs, everyMs = 100, state }: { timeoutMs: number; everyMs?: number; state?: () => string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${state ? ` (${state()})` : ''}`)
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

export const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(serverUrl)
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
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
  await onServer((c) => c.query(`CREATE DATABASE ${name}`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: () => onServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  }
}

/** Topics and consumer groups of this run, all deleted by `cleanup`. */
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

  async createTopic(prefix: string, partitions: number): Promise<string> {
    const topic = this.name(prefix)
    await withTimeout(
      this.admin.createTopics({ topics: [topic], partitions, replicas: 1 }),
      30_000,
      'createTopics',
    )
    this.#topics.push(topic)
    return topic
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

  async cleanup(): Promise<void> {
    await this.#consumer.close().catch(() => {})
    await deleteGroups(this.admin, this.#groups).catch((e) => log(`could not delete consumer groups: ${e}`))
    if (this.#topics.length > 0)
      await withTimeout(this.admin.deleteTopics({ topics: this.#topics }), 30_000, 'deleteTopics').catch(
        (e) => log(`could not delete topics ${this.#topics.join(', ')}: ${e}`),
      )
    await this.admin.close().catch(() => {})
  }
}

/** The record the counting topology expects: key `k<i mod keys>`, value `{"key":"k…","n":i}`. */
export function record(i: number, keys: number): { key: Buffer; value: Buffer } {
  const key = `k${i % keys}`
  return { key: Buffer.from(key), value: Buffer.from(`{"key":"${key}","n":${i}}`) }
}

function producer(brokers: string[], clientId: string): Producer {
  // Not idempotent: an idempotent producer allows one request in flight, which halves the rate; no
  // retries happen on a healthy local broker, so the records and their per-key order are the same.
  return new Producer({
    clientId,
    bootstrapBrokers: brokers,
    partitioner: compatibilityPartitioner,
    acks: -1,
  })
}

/** Produces records `from`…`from+count-1` as fast as the client goes; returns the elapsed seconds. */
export async function produceBulk(
  brokers: string[],
  topic: string,
  {
    from = 0,
    count,
    keys,
    chunk = 4_000,
    inFlight = 4,
  }: { from?: number; count: number; keys: number; chunk?: number; inFlight?: number },
): Promise<number> {
  const p = producer(brokers, `bench-producer-${randomUUID().slice(0, 8)}`)
  const started = performance.now()
  try {
    let next = from
    const end = from + count
    const worker = async () => {
      while (next < end) {
        const first = next
        next = Math.min(end, next + chunk)
        const messages = []
        for (let i = first; i < next; i++) messages.push({ topic, ...record(i, keys) })
        await withTimeout(p.send({ messages }), 60_000, `producing records ${first}…${next - 1}`)
      }
    }
    await Promise.all(Array.from({ length: inFlight }, worker))
    return (performance.now() - started) / 1000
  } finally {
    await p.close()
  }
}

/**
 * Produces at a fixed rate for a while (the "live" phase): every few milliseconds it sends what the
 * schedule says is due, so records are stamped (by the producer, at send) close to when they were due.
 */
export async function produceAtRate(
  brokers: string[],
  topic: string,
  { from, rate, seconds, keys }: { from: number; rate: number; seconds: number; keys: number },
): Promise<{ sent: number; seconds: number }> {
  const p = producer(brokers, `bench-live-${randomUUID().slice(0, 8)}`)
  const total = Math.round(rate * seconds)
  const started = performance.now()
  let sent = 0
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
      if (due > sent) {
        const messages = []
        for (let i = sent; i < due; i++) messages.push({ topic, ...record(from + i, keys) })
        await withTimeout(p.send({ messages }), 30_000, 'producing live records')
        sent = due
      } else await new Promise((r) => setTimeout(r, 2))
    }
    return { sent, seconds: (performance.now() - started) / 1000 }
  } finally {
    await p.close()
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
  const settings = await onServer(async (c) => {
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

/**
 * Deletes the groups, waiting out the session of a member that was killed (an interrupted run): the
 * broker refuses to delete a group that is not empty. A group that never existed is fine.
 */
export async function deleteGroups(admin: Admin, groups: readonly string[]): Promise<void> {
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
