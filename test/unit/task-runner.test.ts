import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import type { RawRecord } from '../../topology/record.ts'
import { copartitionedAssigner } from '../../topology/runtime/assignor.ts'
import { createRuntimeMetrics } from '../../topology/runtime/metrics.ts'
import { StreamsRuntime } from '../../topology/runtime/streams-runtime.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { HELD_RECORD_OVERHEAD, queuedBytes } from '../../topology/runtime/task-ledger.ts'
import { FIRST_EXPANSION, ONE_RECORD_BYTES, TaskRunner } from '../../topology/runtime/task-runner.ts'
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
  return fetchedRecords(Array.from({ length: count }, (_, i) => record(from + i)))
}

function fetchedRecords(records: RawRecord[]) {
  const last = records.at(-1)?.offset ?? -1n
  const next = last + 1n
  return {
    topic: 'in',
    partition: 0,
    records,
    nextOffset: next,
    fetchedBytes: records.reduce((n, r) => n + bytesOf(r) + 20, 0),
    highWatermark: next,
    logStartOffset: 0n,
    errorCode: 0,
  }
}

/** A valid record whose value is padded to about `bytes` bytes, with a header. */
function sized(offset: number, bytes: number): RawRecord {
  const value = JSON.stringify({ key: 'k', n: offset, pad: 'x'.repeat(bytes) })
  return { ...record(offset), value: Buffer.from(value), headers: { 'trace-id': `t${offset}` } }
}

const bytesOf = (r: RawRecord) =>
  (r.key?.length ?? 0) +
  (r.value?.length ?? 0) +
  Object.entries(r.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)

async function openRunner(
  options: { maxBatch: number; lingerMs: number; maxQueueBytes?: number },
  backend = new MemoryBackend(),
  counting = topology,
) {
  const metrics = createRuntimeMetrics(new Registry())
  const task = new PartitionTask({
    topology: counting,
    processor: counting.node('processor', 'counter'),
    partition: 0,
    backend,
    owner: 'test',
    clock: () => 0,
  })
  const fenced: TaskRunner[] = []
  const runner = new TaskRunner(task, {
    maxQueueBytes: 1 << 20,
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
      (v) => v.metricName === 'streams_batch_size_records_sum',
    )
    expect(sizes?.value).toBe(25)
    expect(backend.commits).toBe(3)
    expect(task.store<number>('counts')?.get('k')).toBe(25)
    await runner.stop()
  })

  it('should count records skipped as re-sent copies in records_duplicates_total', async () => {
    const deduplicated = countingTopology({
      applicationId: 'app',
      input: 'in',
      output: 'out',
      deduplicate: true,
    })
    const { runner, task, metrics } = await openRunner({ maxBatch: 10, lingerMs: 1 }, undefined, deduplicated)
    const withId = (offset: number, id: string) => ({
      ...record(offset),
      headers: { 'streams.output-id': id },
    })
    runner.deliver(
      fetchedRecords([withId(0, 'a'), withId(1, 'b'), withId(2, 'a'), withId(3, 'b'), withId(4, 'c')]),
    )
    await until(() => task.positions.get('in') === 5n)
    expect(task.store<number>('counts')?.get('k')).toBe(3)
    const skipped = (await metrics.duplicates.get()).values
    expect(skipped).toEqual([expect.objectContaining({ labels: { topic: 'in', partition: 0 }, value: 2 })])
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

  it('should bound its queue by what held records cost: a fetch asks for the wire bytes whose records fit', async () => {
    const maxQueueBytes = 4 << 20
    const { runner } = await openRunner({ maxBatch: 100_000, lingerMs: 10_000, maxQueueBytes })
    // A linger longer than the test and a batch larger than the queue: nothing is taken from it.
    // Nothing fetched yet: it asks as if records were tiny (the most a wire byte can cost held).
    expect(runner.fetchTargets()[0]!.maxBytes).toBe(Math.floor(maxQueueBytes / FIRST_EXPANSION))
    // 1,000 small records: ~45 wire bytes each, but each costs its objects too while held.
    const small = Array.from({ length: 1_000 }, (_, i) => record(i))
    const arrival = fetchedRecords(small)
    runner.deliver(arrival)
    const held = small.reduce((n, r) => n + queuedBytes(r), 0)
    expect(held).toBe(small.reduce((n, r) => n + bytesOf(r) + HELD_RECORD_OVERHEAD, 0))
    const free = maxQueueBytes - held
    const ask = runner.fetchTargets()[0]!.maxBytes!
    // The next ask is the wire bytes whose records, costing what these did, fit in what is free.
    expect(ask).toBe(Math.floor(free / (held / arrival.fetchedBytes)))
    expect(ask).toBeLessThan(free / 10)
    expect(runner.wantsFetch()).toBe(true)
    // Past half the bound it waits, so that a fetch brings a useful amount rather than a batch at a time.
    runner.deliver(fetchedRecords(Array.from({ length: 6 }, (_, i) => sized(1_000 + i, 400 * 1024))))
    expect(runner.wantsFetch()).toBe(false)
    await runner.stop()
  })

  it("should ask for one record's worth for a topic whose next batch is larger than its ask, once its queue is empty", async () => {
    const { runner, task } = await openRunner({ maxBatch: 10, lingerMs: 50, maxQueueBytes: 64 * 1024 })
    expect(runner.fetchTargets()[0]!.maxBytes).toBe((64 * 1024) / FIRST_EXPANSION)
    runner.deliver(fetchedRecords([record(0)]))
    // The next fetch brings nothing though the log holds more: its next batch is larger than the ask.
    runner.deliver({ ...fetchedRecords([]), nextOffset: 1n, highWatermark: 5n })
    // It waits for the queue to be empty (one batch alone may pass the bound), then asks for a record's worth.
    expect(runner.wantsFetch()).toBe(false)
    await until(() => task.positions.get('in') === 1n)
    expect(runner.wantsFetch()).toBe(true)
    expect(runner.fetchTargets()[0]!.maxBytes).toBe(ONE_RECORD_BYTES)
    runner.deliver(fetchedRecords([sized(1, 900 * 1024)]))
    expect(runner.wantsFetch()).toBe(false)
    // Committed records leave the queue and free their bytes; the big batch came, so asks are sized again.
    await until(() => task.positions.get('in') === 2n)
    expect(runner.wantsFetch()).toBe(true)
    expect(runner.fetchTargets()[0]!.maxBytes).toBeLessThan(64 * 1024)
    await runner.stop()
  })

  it('should refuse a maxQueueBytes that is not a positive integer when the runtime is built', () => {
    for (const maxQueueBytes of [0, -1, 1.5, Number.NaN]) {
      const options = { topology, brokers: ['127.0.0.1:1'], backend: new MemoryBackend(), log: console }
      const metrics = createRuntimeMetrics(new Registry())
      expect(() => new StreamsRuntime({ ...options, metrics, maxQueueBytes }), String(maxQueueBytes)).toThrow(
        RangeError,
      )
    }
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
