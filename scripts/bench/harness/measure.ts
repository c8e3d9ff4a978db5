/**
 * Measuring tools: a phase's meter (time, partitions done, event loop, RSS, CPU), progress waits that
 * fail loudly, exact quantiles, and CPU use per process group.
 */
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'

export interface Rate {
  records: number
  seconds: number
}

/** When each partition's last record was done, from the phase's start. */
export interface PartitionDone {
  partition: number
  records: number
  seconds: number
}

/** What every measured phase reports beside its own figures. */
export interface PhaseMeasures {
  /** Until the phase's own start-up (group join included) was done. */
  startSeconds: number
  partitions: PartitionDone[]
  /** Share of the phase the process's event loop was busy. */
  eventLoop: number
  cpu: CpuUse
  rss: RssSummary
}

type Mem = { rss: number; heap: number }
export interface RssSummary {
  start: Mem
  /** When 10%, 20% … 90% of the records were first done: a long run shows whether memory stays flat. */
  tenths: Mem[]
  end: Mem
  peak: number
  samples: number
}

/**
 * Measures a phase of a process working off a backlog of `ends[p]` records per partition: its time,
 * when each partition was done, event-loop use, CPU by process, and RSS (every 250 ms) against progress.
 */
export class PhaseMeter {
  readonly partitions: PartitionDone[]
  startSeconds = Number.NaN
  readonly #samples: Array<Mem & { progress: number }> = []
  #progress = 0
  #stopped = false
  readonly #sampler = setInterval(() => this.#sample(), 250)
  readonly #cpu: ReturnType<typeof cpuMeter>
  readonly #elu = performance.eventLoopUtilization()
  readonly #started = performance.now()

  constructor(ends: readonly (number | bigint)[], database: string) {
    this.#sample()
    this.#cpu = cpuMeter(database)
    this.partitions = ends.map((end, partition) => ({
      partition,
      records: Number(end),
      seconds: Number(end) === 0 ? 0 : Number.NaN,
    }))
  }

  #sample() {
    const { rss, heapUsed } = process.memoryUsage()
    this.#samples.push({ progress: this.#progress, rss, heap: heapUsed })
  }

  /** Seconds since the phase began. */
  seconds(): number {
    return (performance.now() - this.#started) / 1000
  }

  /** Marks the end of the phase's start-up. */
  started(): void {
    this.startSeconds = this.seconds()
  }

  /** `done` records so far in all; `offsets`: the next offset a partition reached, if known. */
  reached(done: number, offsets: Iterable<[partition: number, next: number]> = []): void {
    this.#progress = done
    for (const [partition, next] of offsets) {
      const p = this.partitions[partition]
      if (p && Number.isNaN(p.seconds) && next >= p.records) p.seconds = this.seconds()
    }
  }

  /** Ends the measurement; the RSS points are where 10%, 20% … 90% of `total` were first reached. */
  stop(total: number): PhaseMeasures {
    const eventLoop = performance.eventLoopUtilization(this.#elu).utilization
    const cpu = this.#cpu.stop()
    this.close()
    const all = this.#samples
    const mem = ({ rss, heap }: Mem) => ({ rss, heap })
    const at = (share: number) => mem(all.find((s) => s.progress >= share * total) ?? all.at(-1)!)
    const rss = {
      ...{ start: mem(all[0]!), tenths: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => at(t / 10)) },
      end: mem(all.at(-1)!),
      ...{ peak: Math.max(...all.map((s) => s.rss)), samples: all.length },
    }
    return { startSeconds: this.startSeconds, partitions: this.partitions, eventLoop, cpu, rss }
  }

  /** Stops sampling (also in a `finally`, for a phase that failed). */
  close(): void {
    if (this.#stopped) return
    this.#stopped = true
    clearInterval(this.#sampler)
    this.#sample()
  }
}

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
