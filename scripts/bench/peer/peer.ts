/**
 * The Kafka Streams peer in the coupon benchmark: runs the Java app (scripts/bench/peer/src, built by
 * build.ts) over a topic already holding the benchmark's requests, once per processing guarantee, each
 * time as a new application (its own group, stores and changelogs: a fresh sale), and measures it from
 * KafkaStreams.start() to the last result committed — the moment the runner, reading the result topic
 * READ_COMMITTED, holds a result for every request — then checks every result (results.ts). It creates
 * the peer's topics (the coupons and users references, the results) and deletes them, the changelogs,
 * the groups and the state directories afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { Admin, Producer } from '@platformatic/kafka'
import { withTimeout } from '../../../topology/retry.ts'
import { buildPeer, type PeerBuild } from './build.ts'
import {
  type Collected,
  checkResults,
  collectResults,
  type ExpectedOutcomes,
  type PeerCheck,
} from './results.ts'

export type Guarantee = 'exactly_once_v2' | 'at_least_once'
export const GUARANTEES: readonly Guarantee[] = ['exactly_once_v2', 'at_least_once']

export interface PeerInput {
  brokers: string[]
  /** The topic holding the requests, keyed by coupon, and its partition count. */
  input: string
  partitions: number
  /** How many requests it holds. */
  requests: number
  /** The sale: users 1…users exist, coupons 1…coupons with `supply` units each (none issued, none expiring). */
  sale: { users: number; coupons: number; supply: number }
  expected: ExpectedOutcomes
  guarantees?: readonly Guarantee[]
  /** num.stream.threads; by default one per partition (each task on a thread of its own). */
  threads?: number
  /** Per guarantee, from the JVM's start to the last result. */
  timeoutMs?: number
  log: (msg: string) => void
}

export interface PeerRun {
  guarantee: Guarantee
  threads: number
  requests: number
  /** From spawning the JVM to KafkaStreams.start() (JVM start, class loading, the topology built). */
  jvmSeconds: number
  /** From spawning the JVM to RUNNING (group joined, global stores loaded). */
  startupSeconds: number
  /** From KafkaStreams.start() to the last result committed: the figure comparable to ours. */
  seconds: number
  /** From RUNNING to the last result committed: processing alone. */
  processingSeconds: number
  /** From spawning the JVM to the last result committed. */
  wallSeconds: number
  /** The JVM's CPU time over the run, and the machine's idle share (of all cores) over the same time. */
  cpuSeconds: number
  idleShare: number
  peakRssBytes: number
  check: PeerCheck
}

export interface PeerRuns {
  build: PeerBuild
  runs: PeerRun[]
}

const TICK = 100 // USER_HZ on Linux
const stateRoot = new URL('../../../.runs/peer/', import.meta.url).pathname

export async function runPeer(input: PeerInput): Promise<PeerRuns> {
  const { brokers, log } = input
  const build = buildPeer(log)
  const suffix = randomUUID().slice(0, 8)
  const admin = new Admin({ clientId: `bench-peer-admin-${suffix}`, bootstrapBrokers: brokers })
  const references = { coupons: `bench-peer-${suffix}-coupons`, users: `bench-peer-${suffix}-users` }
  const created: string[] = []
  try {
    // The references are compacted topics, read into global stores: what a Kafka Streams app does with
    // a table it needs in full on every instance (ours reads the same rows from PostgreSQL).
    for (const topic of Object.values(references)) {
      await withTimeout(
        admin.createTopics({
          topics: [topic],
          partitions: 1,
          replicas: 1,
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        }),
        30_000,
        `createTopics ${topic}`,
      )
      created.push(topic)
    }
    await produceReferences(brokers, references, input.sale)
    const runs: PeerRun[] = []
    for (const guarantee of input.guarantees ?? GUARANTEES) {
      runs.push(await runOnce(input, build.classpath, admin, references, guarantee, suffix))
    }
    return { build, runs }
  } finally {
    await withTimeout(admin.deleteTopics({ topics: created }), 30_000, 'deleteTopics').catch((e) =>
      log(`peer: could not delete ${created.join(', ')}: ${e}`),
    )
    await admin.close().catch(() => {})
  }
}

async function produceReferences(
  brokers: string[],
  topics: { coupons: string; users: string },
  sale: PeerInput['sale'],
): Promise<void> {
  const producer = new Producer({
    clientId: `bench-peer-references-${randomUUID().slice(0, 8)}`,
    bootstrapBrokers: brokers,
  })
  const send = (topic: string, entries: Array<[string, string]>) =>
    withTimeout(
      producer.send({
        messages: entries.map(([key, value]) => ({
          topic,
          key: Buffer.from(key),
          value: Buffer.from(value),
        })),
      }),
      60_000,
      `producing ${topic}`,
    )
  try {
    const coupon = JSON.stringify({ totalQuantity: sale.supply, issuedQuantity: 0, expiresAt: null })
    await send(
      topics.coupons,
      Array.from({ length: sale.coupons }, (_, i) => [String(i + 1), coupon]),
    )
    for (let first = 1; first <= sale.users; first += 5_000) {
      const last = Math.min(sale.users, first + 4_999)
      await send(
        topics.users,
        Array.from({ length: last - first + 1 }, (_, i) => [String(first + i), `user-${first + i}`]),
      )
    }
  } finally {
    await producer.close()
  }
}

async function runOnce(
  input: PeerInput,
  classpath: string,
  admin: Admin,
  references: { coupons: string; users: string },
  guarantee: Guarantee,
  suffix: string,
): Promise<PeerRun> {
  const { brokers, log } = input
  // One thread per task, as a Java team sizing for the most parallelism would: with fewer, one thread
  // holds two partitions (here the two busiest, 77% of the requests, in a trial) and the run waits on it.
  const threads = input.threads ?? input.partitions
  const applicationId = `bench-peer-${suffix}-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`
  const output = `${applicationId}-results`
  const stateDir = `${stateRoot}${applicationId}`
  await withTimeout(
    admin.createTopics({ topics: [output], partitions: input.partitions, replicas: 1 }),
    30_000,
    `createTopics ${output}`,
  )
  mkdirSync(stateDir, { recursive: true })
  let java: JavaProcess | undefined
  try {
    log(`peer: ${guarantee}, ${threads} stream threads, over ${input.requests} requests on ${input.input}`)
    const idleBefore = idleTicks()
    java = startJava(classpath, {
      brokers: brokers.join(','),
      'application-id': applicationId,
      input: input.input,
      output,
      coupons: references.coupons,
      users: references.users,
      guarantee,
      threads: String(threads),
      'state-dir': stateDir,
    })
    const running = java
    const collected: Collected = await collectResults(brokers, output, input.partitions, input.requests, {
      timeoutMs: input.timeoutMs ?? 10 * 60_000,
      stop: () => running.died(),
    })
    const cpuSeconds = running.cpuSeconds()
    const idle = idleTicks()
    const starting = running.events.get('starting')
    const ready = running.events.get('running')
    if (starting === undefined || ready === undefined) throw new Error('the peer never said it started')
    const seconds = (collected.doneAt - starting) / 1000
    const wallSeconds = (collected.doneAt - running.spawnedAt) / 1000
    const check = checkResults(collected, input.expected, input.sale.supply, guarantee === 'exactly_once_v2')
    const run: PeerRun = {
      guarantee,
      threads,
      requests: input.requests,
      jvmSeconds: (starting - running.spawnedAt) / 1000,
      startupSeconds: (ready - running.spawnedAt) / 1000,
      seconds,
      processingSeconds: (collected.doneAt - ready) / 1000,
      wallSeconds,
      cpuSeconds,
      idleShare: (idle.idle - idleBefore.idle) / Math.max(1, idle.total - idleBefore.total),
      peakRssBytes: running.peakRss(),
      check,
    }
    log(
      `peer ${guarantee}: ${input.requests} in ${seconds.toFixed(2)}s from start() ` +
        `(${Math.round(input.requests / seconds)}/s); after spawning: ` +
        [...running.events]
          .map(([e, at]) => `${e} ${((at - running.spawnedAt) / 1000).toFixed(2)}s`)
          .join(', ') +
        '; ' +
        `correct: ${check.ok}${check.examples.length ? ` (${check.examples.join('; ')})` : ''}`,
    )
    return run
  } catch (error) {
    if (java) log(`peer: its last output:\n${java.output()}`)
    throw error
  } finally {
    await java?.stop()
    rmSync(stateDir, { recursive: true, force: true })
    const internal = ['coupon-issued', 'coupon-holders'].map((s) => `${applicationId}-${s}-changelog`)
    await withTimeout(admin.deleteTopics({ topics: [output, ...internal] }), 30_000, 'deleteTopics').catch(
      (e) => log(`peer: could not delete ${output} and the changelogs: ${e}`),
    )
    await withTimeout(admin.deleteGroups({ groups: [applicationId] }), 30_000, 'deleteGroups').catch((e) =>
      log(`peer: could not delete group ${applicationId}: ${e}`),
    )
  }
}

interface JavaProcess {
  spawnedAt: number
  /** The epoch millisecond of each life event the peer printed first (starting, rebalancing, running, …). */
  events: Map<string, number>
  /** Why the process is gone, while the run still needs it; undefined while it lives. */
  died(): string | undefined
  cpuSeconds(): number
  peakRss(): number
  /** Its last lines of stderr (all of it is in .runs/peer/<application id>.log). */
  output(): string
  stop(): Promise<void>
}

function startJava(classpath: string, args: Record<string, string>): JavaProcess {
  const spawnedAt = Date.now()
  // PEER_JAVA_OPTS: JVM options for a look inside, e.g. -Dorg.slf4j.simpleLogger.defaultLogLevel=info
  // (its stderr is kept in .runs/peer/<application id>.log) or a profiler agent.
  const options = (process.env.PEER_JAVA_OPTS ?? '').split(' ').filter(Boolean)
  const child: ChildProcess = spawn(
    'java',
    [
      ...options,
      '-cp',
      classpath,
      'commerce.peer.CouponPeer',
      ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  // If this process exits any other way, the JVM must not outlive it.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const events = new Map<string, number>()
  let stdout = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
      const line = stdout.slice(0, nl)
      stdout = stdout.slice(nl + 1)
      if (line.startsWith('{"event"')) {
        const e = JSON.parse(line) as { event: string; at: number }
        // The first time each: RUNNING again after a later rebalance is not its start-up.
        if (!events.has(e.event)) events.set(e.event, e.at)
      }
    }
  })
  const stderr: string[] = []
  const logFile = createWriteStream(`${stateRoot}${args['application-id']}.log`)
  child.stderr!.pipe(logFile)
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'))
    if (stderr.length > 200) stderr.shift()
  })
  let exited: string | undefined
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `the peer exited (${signal ?? `code ${code}`})`
      process.off('exit', killOnExit)
      resolve()
    }),
  )
  child.once('error', (e) => (exited = `the peer could not start: ${e.message}`))
  let peak = 0
  let cpu = 0
  const sample = () => {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (rss) peak = Math.max(peak, Number(rss[1]) * 1024)
      // utime and stime: the 14th and 15th fields, after the parenthesised command name.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      cpu = (Number(fields[11]) + Number(fields[12])) / TICK
    } catch {
      // gone already: keep the last sample
    }
  }
  const sampler = setInterval(sample, 250)
  return {
    spawnedAt,
    events,
    died: () => exited,
    cpuSeconds: () => {
      sample()
      return cpu
    },
    peakRss: () => peak,
    output: () => stderr.join('').split('\n').slice(-40).join('\n'),
    stop: async () => {
      clearInterval(sampler)
      if (exited) return
      // SIGTERM runs the peer's shutdown hook: KafkaStreams.close(), which commits and leaves the group.
      child.kill('SIGTERM')
      const killed = setTimeout(() => child.kill('SIGKILL'), 40_000)
      await exit
      clearTimeout(killed)
    },
  }
}

/** The machine's idle and total CPU ticks so far (all cores; iowait counts as idle). */
function idleTicks(): { idle: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return { idle: ticks[3]! + ticks[4]!, total: ticks.reduce((a, b) => a + b, 0) }
}
