/**
 * Where a benchmarked process's memory goes, for `--node-flags=--import=./scripts/bench/harness/memory-probe.ts`
 * (docs/benchmarks.md, "Memory of the runtime process"). Loaded by every thread of the process (a
 * worker inherits `--import`): each appends, every second, its V8 heap by space to
 * `$MEMORY_PROBE_DIR/<pid>.jsonl` (default /tmp/memory-probe); the main thread adds the process's
 * RSS and, every 5 s, the RSS of its mappings by kind: the node binary, other files, the main malloc
 * arena (`[heap]`), other threads' arenas (mappings at 64 MiB-aligned starts, as glibc places them) and
 * the rest. Samples are lines of JSON, one per thread per second; read them with any script.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import v8 from 'node:v8'
import { isMainThread, threadId } from 'node:worker_threads'

const dir = process.env.MEMORY_PROBE_DIR ?? '/tmp/memory-probe'
mkdirSync(dir, { recursive: true })
const file = `${dir}/${process.pid}.jsonl`
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
const started = Date.now()
const seconds = () => Math.round((Date.now() - started) / 1000)
const write = (sample: object) => appendFileSync(file, `${JSON.stringify(sample)}\n`)

if (isMainThread) write({ argv: process.argv.slice(1).join(' ') })

setInterval(() => {
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .filter((s) => s.space_size > 0)
      .map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size) }]),
  )
  const heap = v8.getHeapStatistics()
  const sample: Record<string, unknown> = {
    t: seconds(),
    thread: threadId,
    heap: {
      total: mb(heap.total_heap_size),
      used: mb(heap.used_heap_size),
      external: mb(heap.external_memory),
    },
    spaces,
  }
  if (isMainThread) sample.rss = mb(process.memoryUsage.rss())
  write(sample)
}, 1000).unref()

const ARENA_ALIGNMENT = 64 * 2 ** 20

/** RSS (MB) of the process's mappings by kind, from /proc/self/smaps. */
function mappings(): Record<string, number> {
  const kinds: Record<string, number> = {}
  let kind = ''
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line)
    if (header) {
      const [, start = '0', name = ''] = header
      if (name === process.execPath) kind = 'node binary'
      else if (name.startsWith('/')) kind = 'other files'
      else if (name === '[heap]') kind = 'main malloc arena'
      else if (name) kind = name
      else if (Number.parseInt(start, 16) % ARENA_ALIGNMENT === 0) kind = 'thread malloc arenas'
      else kind = 'other anonymous (V8 heaps among them)'
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss) kinds[kind] = (kinds[kind] ?? 0) + Number(rss[1]) * 1024
  }
  return Object.fromEntries(Object.entries(kinds).map(([k, bytes]) => [k, mb(bytes)]))
}

if (isMainThread) setInterval(() => write({ t: seconds(), mappings: mappings() }), 5000).unref()
