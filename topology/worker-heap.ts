/**
 * Starting a worker thread whose young generation is the size asked for. A worker's
 * `resourceLimits.maxYoungGenerationSizeMb` is only a default: V8 sizes every isolate's semi-spaces by
 * the process's `--max-semi-space-size` when that flag is set (Heap::ConfigureHeap prefers the flag to
 * the isolate's constraints). The service runs with `--max-semi-space-size=16` for its tasks' thread
 * (scripts/bench/harness/bench.ts says why), so without help the relay's worker, which needs less,
 * also let its new space grow to 2 × 16 MiB of RSS (docs/benchmarks.md, "Memory of the runtime process").
 *
 * V8 reads the flag when it configures a new isolate's heap, which the worker does on its own thread
 * before it runs any JavaScript. So `startWorker` sets the flag to the worker's semi-space size, creates
 * the worker, and puts the process's value back once the worker is online (or ended): isolates that
 * already exist keep the heap they were configured with. A worker another module creates in the same
 * few milliseconds would get the small young generation too; nothing else changes.
 */
import v8 from 'node:v8'
import { Worker, type WorkerOptions } from 'node:worker_threads'

// V8's scavenger: a young generation of 3 semi-spaces (to, from, and as much for new large objects).
const SEMI_SPACES_PER_YOUNG_GENERATION = 3

/** The process's `--max-semi-space-size` in MiB (command line, else NODE_OPTIONS; the last wins), if set. */
export function processSemiSpaceMb(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): number | undefined {
  let found: number | undefined
  for (const args of [(nodeOptions ?? '').split(/\s+/), execArgv]) {
    for (const [i, arg] of args.entries()) {
      const m = /^--max[-_]semi[-_]space[-_]size(?:=(\d+))?$/.exec(arg)
      if (!m) continue
      const value = Number(m[1] ?? args[i + 1])
      if (Number.isSafeInteger(value)) found = value
    }
  }
  return found
}

export interface WorkerHeapOptions extends Omit<WorkerOptions, 'resourceLimits'> {
  /** The worker's semi-space size in MiB (its young generation is 3 of them); a whole number ≥ 1. */
  semiSpaceMb: number
}

/** `new Worker(url, options)` with a young generation of `semiSpaceMb`, whatever the process's flags. */
export function startWorker(url: URL, { semiSpaceMb, ...options }: WorkerHeapOptions): Worker {
  if (!Number.isSafeInteger(semiSpaceMb) || semiSpaceMb < 1)
    throw new RangeError('semiSpaceMb must be a positive integer')
  const resourceLimits = { maxYoungGenerationSizeMb: semiSpaceMb * SEMI_SPACES_PER_YOUNG_GENERATION }
  const processValue = processSemiSpaceMb()
  // Without the flag, V8 takes the young generation from resourceLimits as documented.
  if (processValue === undefined || processValue === semiSpaceMb)
    return new Worker(url, { ...options, resourceLimits })
  // Once only: a later restore (this worker's exit) could cut into another startWorker's window.
  let restored = false
  const restore = () => {
    if (restored) return
    restored = true
    v8.setFlagsFromString(`--max-semi-space-size=${processValue}`)
  }
  v8.setFlagsFromString(`--max-semi-space-size=${semiSpaceMb}`)
  let worker: Worker
  try {
    worker = new Worker(url, { ...options, resourceLimits })
  } catch (error) {
    restore()
    throw error
  }
  // 'exit' also follows a worker that failed before it came online.
  worker.once('online', restore)
  worker.once('exit', restore)
  return worker
}
