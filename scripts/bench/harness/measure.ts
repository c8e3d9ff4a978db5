/**
 * Measuring tools: progress waits that fail loudly, exact quantiles, RSS sampling, and CPU use per
 * process group.
 */
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'

/** Exact quantile of a sample (nearest rank). */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = Float64Array.from(samples).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** Waits for `read()` to reach `target`, failing when it stalls for `stallMs` or passes `maxMs`. */
export async function waitProgress(
  what: string,
  read: () => Promise<number>,
  target: number,
  {
    everyMs = 100,
    stallMs = 60_000,
    maxMs = 30 * 60_000,
    onValue,
  }: {
    everyMs?: number
    stallMs?: number
    maxMs?: number
    onValue?: (value: number) => void
  } = {},
): Promise<number> {
  const started = performance.now()
  let last = -1
  let lastChange = started
  for (;;) {
    const value = await read()
    onValue?.(value)
    if (value >= target) return (performance.now() - started) / 1000
    const now = performance.now()
    if (value !== last) {
      last = value
      lastChange = now
    }
    if (now - lastChange > stallMs)
      throw new Error(`${what}: no progress for ${stallMs / 1000}s (at ${value} of ${target})`)
    if (now - started > maxMs)
      throw new Error(`${what}: not done after ${maxMs / 1000}s (at ${value} of ${target})`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** RSS every 250 ms, with the progress reached at each sample. */
export class RssSampler {
  readonly samples: Array<{ progress: number; rss: number; heap: number }> = []
  progress = 0
  readonly #timer: NodeJS.Timeout
  constructor(everyMs = 250) {
    this.#sample()
    this.#timer = setInterval(() => this.#sample(), everyMs)
  }
  #sample() {
    const m = process.memoryUsage()
    this.samples.push({ progress: this.progress, rss: m.rss, heap: m.heapUsed })
  }
  stop() {
    clearInterval(this.#timer)
    this.#sample()
  }
  peak(): number {
    return Math.max(...this.samples.map((s) => s.rss))
  }
  /** The sample at the first moment `fraction` of `total` was reached. */
  at(fraction: number, total: number): { rss: number; heap: number } {
    return this.samples.find((s) => s.progress >= fraction * total) ?? this.samples.at(-1)!
  }
  summary(total: number): RssSummary {
    const point = (fraction: number) => ({
      rss: this.at(fraction, total).rss,
      heap: this.at(fraction, total).heap,
    })
    return {
      start: { rss: this.samples[0]!.rss, heap: this.samples[0]!.heap },
      p10: point(0.1),
      p50: point(0.5),
      p90: point(0.9),
      end: { rss: this.samples.at(-1)!.rss, heap: this.samples.at(-1)!.heap },
      peak: this.peak(),
      samples: this.samples.length,
    }
  }
}

type Mem = { rss: number; heap: number }
export interface RssSummary {
  start: Mem
  p10: Mem
  p50: Mem
  p90: Mem
  end: Mem
  peak: number
  samples: number
}

/**
 * CPU seconds over a phase, by who used them: this Node process; PostgreSQL (the backends of this run's
 * database plus the server's shared processes: WAL writer, checkpointer…); the Kafka JVM; and the rest
 * of the machine (including other databases' backends, e.g. someone's tests). `idle` is out of
 * `seconds × cores`.
 */
export interface CpuUse {
  seconds: number
  cores: number
  node: number
  postgres: number
  kafka: number
  other: number
  idle: number
}

const TICK = 100 // USER_HZ on Linux

function processTicks(database: string | undefined): Map<string, number> {
  const groups = new Map<string, number>([
    ['node', 0],
    ['postgres', 0],
    ['kafka', 0],
  ])
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let group: string | undefined
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (Number(pid) === process.pid) group = 'node'
      else if (comm === 'postgres') {
        // Process titles: "postgres: 15/main: <user> <database> 127.0.0.1(port) idle" for a client
        // backend, "postgres: 15/main: walwriter" for a shared one.
        const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        const client = /\(\d+\)|\[local\]/.test(title)
        if (!client || (database !== undefined && title.includes(` ${database} `))) group = 'postgres'
      } else if (comm === 'java' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka'))
        group = 'kafka'
    } catch {
      continue // gone meanwhile
    }
    if (!group) continue
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    groups.set(group, groups.get(group)! + Number(fields[11]) + Number(fields[12])) // utime + stime
  }
  return groups
}

function idleTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return cpu[3]! + cpu[4]! // idle + iowait
}

/** Starts measuring CPU use; `stop()` returns the CPU seconds each group used since then. */
export function cpuMeter(database?: string): { stop: () => CpuUse } {
  const started = performance.now()
  const before = processTicks(database)
  const idleBefore = idleTicks()
  return {
    stop: () => {
      const after = processTicks(database)
      const d = (k: string) => Math.max(0, (after.get(k)! - before.get(k)!) / TICK)
      const seconds = (performance.now() - started) / 1000
      const cores = os.availableParallelism()
      const idle = (idleTicks() - idleBefore) / TICK
      const [node, postgres, kafka] = [d('node'), d('postgres'), d('kafka')]
      // Everything else busy, including processes that ended during the phase.
      const other = Math.max(0, seconds * cores - idle - node - postgres - kafka)
      return { seconds, cores, node, postgres, kafka, other, idle }
    },
  }
}
