import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import type { RawRecord } from '../../topology/record.ts'
import { copartitionedAssigner } from '../../topology/runtime/assignor.ts'
import { createRuntimeMetrics } from '../../topology/runtime/metrics.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { TaskRunner } from '../../topology/runtime/task-runner.ts'
import { countingTopology } from '../support/counting-topology.ts'

const topology = countingTopology({ applicationId: 'app', input: 'in', output: 'out' })
const silent = { info() {}, warn() {} }

function record(offset: number, key = 'k'): RawRecord {
  return {
    topic: 'in',
    partition: 0,
    offset: BigInt(offset),
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify({ key, n: offset })),
    timestamp: 0,
    headers: {},
  }
}

function fetched(from: number, count: number) {
  const records = Array.from({ length: count }, (_, i) => record(from + i))
  return {
    topic: 'in',
    partition: 0,
    records,
    nextOffset: BigInt(from + count),
    highWatermark: BigInt(from + count),
    logStartOffset: 0n,
    errorCode: 0,
  }
}

async function openRunner(
  options: { maxBatch: number; lingerMs: number; maxQueue?: number },
  backend = new MemoryBackend(),
) {
  const metrics = createRuntimeMetrics(new Registry())
  const task = new PartitionTask({
    topology,
    processor: topology.node('processor', 'counter'),
    partition: 0,
    backend,
    owner: 'test',
    clock: () => 0,
  })
  const fenced: TaskRunner[] = []
  const runner = new TaskRunner(task, {
    maxQueue: 1_000,
    ...options,
    metrics,
    log: silent,
    clock: () => 0,
    onCommitted: () => {},
    onFenced: (r) => fenced.push(r),
  })
  await runner.open(new Map([['in', 0n]]), new AbortController().signal)
  return { runner, task, backend, metrics, fenced }
}

async function until(check: () => boolean, ms = 2_000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('TaskRunner', () => {
  it('should commit full batches at once and the remainder after the linger', async () => {
    const { runner, task, backend, metrics } = await openRunner({ maxBatch: 10, lingerMs: 30 })
    runner.deliver(fetched(0, 25))
    await until(() => task.positions.get('in') === 25n)
    const sizes = (await metrics.batchSize.get()).values.find(
      (v) => v.metricName === 'commerce_batch_size_records_sum',
    )
    expect(sizes?.value).toBe(25)
    expect(backend.commits).toBe(3)
    expect(task.store<number>('counts')?.get('k')).toBe(25)
    await runner.stop()
  })

  it('should retry a failed commit with the same records and apply them once', async () => {
    const backend = new MemoryBackend()
    backend.failNextCommits(2)
    const { runner, task } = await openRunner({ maxBatch: 100, lingerMs: 1 }, backend)
    runner.deliver(fetched(0, 5))
    await until(() => task.positions.get('in') === 5n, 5_000)
    expect(backend.storeView<number>(task.id, 'counts').get('k')).toBe(5)
    expect(backend.outbox).toHaveLength(5)
    await runner.stop()
  })

  it('should drop records it already has when the same offsets are fetched again', async () => {
    const { runner, task } = await openRunner({ maxBatch: 100, lingerMs: 1 })
    runner.deliver(fetched(0, 5))
    runner.deliver(fetched(3, 4)) // 3 and 4 again, then 5 and 6
    await until(() => task.positions.get('in') === 7n)
    expect(task.store<number>('counts')?.get('k')).toBe(7)
    expect(runner.fetchTargets()).toEqual([
      expect.objectContaining({ topic: 'in', partition: 0, offset: 7n }),
    ])
    await runner.stop()
  })

  it('should commit the offset past a transaction marker that ends the log (no lag of 1 forever)', async () => {
    const { runner, task, backend } = await openRunner({ maxBatch: 100, lingerMs: 1 })
    // Records 0..2, then a commit marker at 3: the fetch says the next fetch starts at 4.
    runner.deliver({ ...fetched(0, 3), nextOffset: 4n, highWatermark: 4n })
    await until(() => task.positions.get('in') === 4n)
    expect(backend.offsets(task.id).get('in')).toBe(4n)
    expect(runner.fetchTargets()[0]!.offset).toBe(4n)
    // A fetch holding only a marker moves the committed position too.
    runner.deliver({ ...fetched(4, 0), nextOffset: 5n, highWatermark: 5n })
    await until(() => backend.offsets(task.id).get('in') === 5n)
    expect(task.store<number>('counts')?.get('k')).toBe(3)
    await runner.stop()
  })

  it('should commit a reset past deleted records, so a restart resumes from the log start', async () => {
    const { runner, task, backend } = await openRunner({ maxBatch: 100, lingerMs: 1 })
    const skipped = runner.resetFetch('in', 12n)
    await until(() => backend.offsets(task.id).get('in') === 12n)
    expect(skipped).toBe(12n)
    expect(runner.fetchTargets()[0]!.offset).toBe(12n)
    // A reset to an offset already passed skips nothing.
    expect(runner.resetFetch('in', 3n)).toBe(0n)
    expect(runner.fetchTargets()[0]!.offset).toBe(12n)
    await runner.stop()
  })

  it('should stop asking for records while its queue is full (bounded memory)', async () => {
    const { runner } = await openRunner({ maxBatch: 10, lingerMs: 10_000, maxQueue: 5 })
    // A linger longer than the test and a batch larger than the queue: nothing is taken from it.
    expect(runner.wantsFetch()).toBe(true)
    const empty = runner.fetchTargets()[0]!.maxBytes!
    runner.deliver(fetched(0, 3))
    // Fetches ask for no more than the queue has room for (never below 64 KiB).
    expect(runner.fetchTargets()[0]!.maxBytes).toBeLessThanOrEqual(empty)
    expect(runner.fetchTargets()[0]!.maxBytes).toBeGreaterThanOrEqual(64 * 1024)
    runner.deliver(fetched(3, 2))
    expect(runner.wantsFetch()).toBe(false)
    await runner.stop()
  })

  it('should report itself fenced, and stop, when another owner claimed its task', async () => {
    const { runner, task, backend, fenced } = await openRunner({ maxBatch: 10, lingerMs: 1 })
    await backend.claim(task.id, 'someone-else', new Map())
    runner.deliver(fetched(0, 3))
    await until(() => fenced.length === 1)
    expect(runner.status).toBe('fenced')
    expect(runner.wantsFetch()).toBe(false)
    expect(backend.storeView<number>(task.id, 'counts').get('k')).toBeUndefined()
    await runner.stop()
  })
})

describe('copartitionedAssigner', () => {
  const metadata = (counts: Record<string, number>) =>
    ({ topics: new Map(Object.entries(counts).map(([t, n]) => [t, { partitionsCount: n }])) }) as never

  it('should give partition p of every topic to the same member', () => {
    const members = new Map([
      ['m-b', {}],
      ['m-a', {}],
    ]) as never
    const result = copartitionedAssigner(
      'm-a',
      members,
      new Set(['orders', 'payments']),
      metadata({ orders: 3, payments: 3 }),
    )
    const of = (member: string) =>
      Object.fromEntries(
        [...result.find((r) => r.memberId === member)!.assignments].map(([t, a]) => [t, a.partitions]),
      )
    expect(of('m-a')).toEqual({ orders: [0, 2], payments: [0, 2] })
    expect(of('m-b')).toEqual({ orders: [1], payments: [1] })
  })

  it('should assign nothing without members', () => {
    expect(copartitionedAssigner('x', new Map() as never, new Set(['t']), metadata({ t: 3 }))).toEqual([])
  })
})
