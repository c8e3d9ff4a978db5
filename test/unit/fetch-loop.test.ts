import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import type { RawRecord } from '../../topology/record.ts'
import { FetchLoop, type HoldFetch, MAX_FETCH_HOLD_MS } from '../../topology/runtime/fetch-loop.ts'
import type { FetchedPartition, FetchTarget } from '../../topology/runtime/fetcher.ts'
import { createRuntimeMetrics } from '../../topology/runtime/metrics.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { TaskRunner } from '../../topology/runtime/task-runner.ts'
import { countingTopology } from '../support/counting-topology.ts'

const topology = countingTopology({ applicationId: 'app', input: 'in', output: 'out' })
const silent = { info() {}, warn() {}, error() {} }

function record(partition: number, offset: bigint): RawRecord {
  const key = `k${partition}`
  return {
    topic: 'in',
    partition,
    offset,
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify({ key, n: Number(offset) })),
    timestamp: 0,
    headers: {},
  }
}

/**
 * A log per partition, served the way the broker's Fetch answers: records from the asked offset, or
 * the partition's scripted error code. (The client's decoding is covered against the real broker in
 * test/integration/runtime-fetch.test.ts; this pins the loop's per-partition policy.)
 */
class ScriptedLogs {
  readonly errors = new Map<number, number>()
  readonly logStart = new Map<number, bigint>()
  readonly ends: Map<number, bigint>
  constructor(ends: Map<number, bigint>) {
    this.ends = ends
  }

  fetcher = {
    invalidate: () => {},
    fetch: async (targets: FetchTarget[]): Promise<FetchedPartition[]> => {
      await new Promise((r) => setTimeout(r, 1))
      return targets.map((t) => {
        const end = this.ends.get(t.partition)!
        const start = this.logStart.get(t.partition) ?? 0n
        const errorCode = this.errors.get(t.partition) ?? (t.offset < start || t.offset > end ? 1 : 0)
        const records: RawRecord[] = []
        if (errorCode === 0) for (let o = t.offset; o < end; o++) records.push(record(t.partition, o))
        return {
          topic: t.topic,
          partition: t.partition,
          records,
          nextOffset: errorCode === 0 ? end : t.offset,
          fetchedBytes: records.length * 60,
          highWatermark: end,
          logStartOffset: errorCode === 0 ? start : -1n,
          errorCode,
        }
      })
    },
  }

  consumer = {
    listOffsets: async () => new Map([['in', [0, 1].map((p) => this.logStart.get(p) ?? 0n)]]),
  } as never
}

const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

async function start(logs: ScriptedLogs, holdFetch?: HoldFetch) {
  const backend = new MemoryBackend()
  const registry = new Registry()
  const metrics = createRuntimeMetrics(registry)
  const runners = await Promise.all(
    [0, 1].map(async (partition) => {
      const task = new PartitionTask({
        topology,
        processor: topology.node('processor', 'counter'),
        partition,
        backend,
        owner: 'test',
        clock: () => 0,
      })
      const runner = new TaskRunner(task, {
        maxBatch: 100,
        lingerMs: 1,
        maxQueueBytes: 1 << 20,
        metrics,
        log: silent,
        clock: () => 0,
        onCommitted: () => {},
        onFenced: () => {},
      })
      await runner.open(new Map([['in', 0n]]), new AbortController().signal)
      return runner
    }),
  )
  const stop = new AbortController()
  const loop = new FetchLoop({
    fetcher: logs.fetcher,
    consumer: logs.consumer,
    runners: () => runners,
    metrics,
    log: silent,
    signal: stop.signal,
    ...(holdFetch ? { holdFetch } : {}),
  })
  const running = loop.run()
  stops.push(async () => {
    stop.abort()
    await running
    for (const r of runners) await r.stop()
  })
  const committed = (p: number) => backend.offsets(runners[p]!.task.id).get('in')
  return { loop, registry, committed }
}

async function until(check: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('FetchLoop', () => {
  it('should back off a partition whose fetch fails while the other partition keeps flowing', async () => {
    const logs = new ScriptedLogs(
      new Map([
        [0, 5n],
        [1, 5n],
      ]),
    )
    logs.errors.set(1, 6) // NOT_LEADER_OR_FOLLOWER, for partition 1 only
    const { loop, registry, committed } = await start(logs)
    await until(() => committed(0) === 5n)
    logs.ends.set(0, 9n)
    await until(() => committed(0) === 9n)
    expect(committed(1)).toBe(0n)
    await until(() => loop.problem()?.includes('NOT_LEADER_OR_FOLLOWER') === true)
    expect(loop.problem()).toContain('in[1]')
    expect(await registry.metrics()).toMatch(
      /streams_fetch_errors_total\{topic="in",partition="1",code="NOT_LEADER_OR_FOLLOWER"\} [1-9]/,
    )

    logs.errors.delete(1) // the leader is back
    await until(() => committed(1) === 5n)
    expect(loop.problem()).toBeUndefined()
  })

  it('should move a partition whose offset was deleted to the log start and count the skipped offsets', async () => {
    const logs = new ScriptedLogs(
      new Map([
        [0, 3n],
        [1, 20n],
      ]),
    )
    logs.logStart.set(1, 12n)
    const { registry, committed } = await start(logs)
    await until(() => committed(1) === 20n && committed(0) === 3n)
    expect(await registry.metrics()).toContain('streams_records_skipped_total{topic="in",partition="1"} 12')
  })

  it('should not fetch while publication is behind, and fetch again once it has caught up', async () => {
    const logs = new ScriptedLogs(
      new Map([
        [0, 4n],
        [1, 4n],
      ]),
    )
    // A relay that is behind: each ask gets a promise the test settles by hand (a relay round).
    let behind = false
    let asked = 0
    const rounds: Array<() => void> = []
    const hold: HoldFetch = () => {
      asked++
      return behind ? new Promise<void>((resolve) => rounds.push(resolve)) : undefined
    }
    const { registry, committed } = await start(logs, hold)
    await until(() => committed(0) === 4n && committed(1) === 4n)

    behind = true
    await until(() => rounds.length > 0) // the loop is waiting on a round
    logs.ends.set(0, 8n)
    await new Promise((r) => setTimeout(r, 100))
    expect(committed(0)).toBe(4n) // nothing fetched while behind

    const asks = asked
    rounds.shift()?.() // a round passes, still behind: it asks again and keeps waiting
    await until(() => asked > asks)
    await new Promise((r) => setTimeout(r, 50))
    expect(committed(0)).toBe(4n)

    behind = false
    for (const settle of rounds.splice(0)) settle()
    await until(() => committed(0) === 8n)
    expect(await registry.metrics()).toMatch(/streams_fetch_held_seconds_total 0\.[1-9]/)
  })

  it('should fetch after MAX_FETCH_HOLD_MS when publication never catches up (a relay that cannot publish stalls nothing)', async () => {
    const logs = new ScriptedLogs(
      new Map([
        [0, 3n],
        [1, 0n],
      ]),
    )
    const started = Date.now()
    const { committed } = await start(logs, () => new Promise<void>(() => {}))
    await until(() => committed(0) === 3n, 3 * MAX_FETCH_HOLD_MS)
    expect(Date.now() - started).toBeGreaterThanOrEqual(MAX_FETCH_HOLD_MS - 50)
  })
})
