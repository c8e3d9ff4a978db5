/**
 * What a benchmarked process allocates, garbage included, for
 * `--node-flags=--import=./scripts/bench/harness/allocation-probe.ts` (docs/benchmarks.md, "Less work
 * and less garbage per record"). Loaded by every thread (a worker inherits `--import`): each samples its
 * allocations with V8's sampling heap profiler, keeping the objects minor and major GCs collected (the
 * CLI's `--heap-prof` keeps only the survivors, which hides garbage), and writes the profile after
 * `$ALLOCATION_PROBE_MS` (default 9000) to `$ALLOCATION_PROBE_DIR/<pid>-<thread>.heapprofile` (default
 * /tmp/allocation-probe). Chrome DevTools opens it; so does any script (a tree of frames with `selfSize`).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { threadId } from 'node:worker_threads'

const dir = process.env.ALLOCATION_PROBE_DIR ?? '/tmp/allocation-probe'
const after = Number(process.env.ALLOCATION_PROBE_MS ?? 9_000)
mkdirSync(dir, { recursive: true })

const session = new Session()
session.connect()
session.post('HeapProfiler.enable')
session.post('HeapProfiler.startSampling', {
  samplingInterval: 16_384,
  includeObjectsCollectedByMinorGC: true,
  includeObjectsCollectedByMajorGC: true,
})

setTimeout(() => {
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) writeFileSync(`${dir}/${process.pid}-${threadId}.heapprofile`, JSON.stringify(result.profile))
  })
}, after).unref()
