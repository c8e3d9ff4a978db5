/**
 * Keyed stores: partition-local state that grows with history is not loaded whole on assignment. The
 * keys a batch needs come from its records (the store's declared key function) and are fetched in one
 * request per store before the batch runs; a bounded cache keeps committed entries between batches.
 */
import { describe, expect, it } from 'vitest'
import type { KeyValueStore, ProcessorContext } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import type { RawRecord, StreamRecord } from '../../topology/record.ts'
import type { TaskId } from '../../topology/runtime/backend.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { jsonValue } from '../../topology/serde.ts'

interface Visit {
  user: string
  /** A key the processor reads although no key function declared it. */
  peek?: string
  /** Throw after writing, on the first attempt only. */
  flaky?: boolean
}

const TASK: TaskId = { applicationId: 'app', processor: 'visits', partition: 0 }

/** Counts the entries each store load returned, as the rows a database would have read. */
class CountingBackend extends MemoryBackend {
  readonly keyLoads: string[][] = []
  wholeLoads = 0

  override async loadStore(task: TaskId, store: string) {
    const entries = await super.loadStore(task, store)
    this.wholeLoads += entries.length
    return entries
  }

  override async loadKeys(task: TaskId, store: string, keys: readonly string[]) {
    this.keyLoads.push([...keys])
    return super.loadKeys(task, store, keys)
  }
}

/** Counts each user's visits in a keyed store. */
function topology(maxCachedEntries = 100) {
  const attempts = new Map<string, number>()
  const process = (record: StreamRecord<Visit>, ctx: ProcessorContext) => {
    const seen = ctx.store<KeyValueStore<number>>('seen')
    if (record.value.peek) seen.get(record.value.peek)
    const count = (seen.get(record.value.user) ?? 0) + 1
    seen.put(record.value.user, count)
    const tries = (attempts.get(record.value.user) ?? 0) + 1
    attempts.set(record.value.user, tries)
    if (record.value.flaky && tries === 1) throw new Error('flaky')
    ctx.emit('out', { key: record.value.user, value: { count } })
  }
  return new TopologyBuilder('app')
    .source('visit-log', { topic: 'visits', parse: jsonValue<Visit>((v) => v as Visit) })
    .store<Visit>('seen', { loading: 'keyed', keys: (visit) => visit.user, maxCachedEntries })
    .sink('out', { topic: 'counts' })
    .processor<Visit>('visits', {
      sources: ['visit-log'],
      stores: ['seen'],
      sinks: ['out'],
      supplier: () => ({ process }),
    })
    .build()
}

let offset = 0
const visit = (value: Visit): RawRecord => ({
  topic: 'visits',
  partition: 0,
  offset: BigInt(offset++),
  key: Buffer.from(value.user),
  value: Buffer.from(JSON.stringify(value)),
  timestamp: 0,
  headers: {},
})

async function open(backend: CountingBackend, maxCachedEntries?: number) {
  const t = topology(maxCachedEntries)
  const task = new PartitionTask({
    topology: t,
    processor: t.node('processor', 'visits'),
    partition: 0,
    backend,
    owner: 'test',
    clock: () => 0,
    pause: async () => {},
  })
  await task.open(new Map([['visits', 0n]]))
  return task
}

const counts = (backend: MemoryBackend) =>
  backend.outbox
    .filter((o) => o.topic === 'counts')
    .map((o) => `${o.key}:${JSON.parse(String(o.value)).count}`)

describe('a keyed store', () => {
  it('should open without loading its entries, and load only the keys a batch declares, once per batch', async () => {
    offset = 0
    const backend = new CountingBackend()
    const first = await open(backend)
    await first.runBatch(['a', 'b', 'c', 'd'].map((user) => visit({ user })))
    first.close()

    backend.keyLoads.length = 0
    const task = await open(backend)
    expect(backend.wholeLoads).toBe(0)
    await task.runBatch([visit({ user: 'a' }), visit({ user: 'x' }), visit({ user: 'a' })])
    // One request for the batch's distinct keys; x is known absent, a was committed before the restart.
    expect(backend.keyLoads).toEqual([['a', 'x']])
    expect(counts(backend).slice(4)).toEqual(['a:2', 'x:1', 'a:3'])
    // Committed entries stay cached: the next batch asks only for what it lacks.
    await task.runBatch([visit({ user: 'x' }), visit({ user: 'b' })])
    expect(backend.keyLoads).toEqual([['a', 'x'], ['b']])
    expect(counts(backend).slice(7)).toEqual(['x:2', 'b:2'])
  })

  it('should refuse to read a key the batch did not declare, naming the store and key, instead of missing it', async () => {
    offset = 0
    const backend = new CountingBackend()
    const task = await open(backend)
    await task.runBatch([visit({ user: 'b' })])
    // 'b' is cached from the batch before, but this batch did not declare it: still an error.
    const result = await task.runBatch([visit({ user: 'a', peek: 'b' }), visit({ user: 'c' })])
    expect(result.dead).toEqual([{ topic: 'visits', code: 'PROCESSING_FAILED' }])
    const dlq = backend.outbox.find((o) => o.topic === 'visits.dlq')!
    expect(Object.values(dlq.headers).join(' ')).toMatch(/store "seen".*key "b".*not declared/)
    expect(counts(backend)).toEqual(['b:1', 'c:1'])
    expect(backend.storeView(TASK, 'seen').get('a')).toBeUndefined()
  })

  it('should undo a failed attempt and forget a batch whose commit failed, then apply each record once', async () => {
    offset = 0
    const backend = new CountingBackend()
    const task = await open(backend)
    await task.runBatch([visit({ user: 'a' })])
    backend.failNextCommits(1)
    const batch = [visit({ user: 'a', flaky: true }), visit({ user: 'b' })]
    await expect(task.runBatch(batch)).rejects.toThrow('injected commit failure')
    // The failed commit's writes are gone from the cache: the retry counts from committed state.
    await task.runBatch(batch)
    expect(counts(backend)).toEqual(['a:1', 'a:2', 'b:1'])
    expect(backend.storeView<number>(TASK, 'seen').get('a')).toBe(2)
  })

  it('should keep at most maxCachedEntries committed entries between batches and reload evicted ones', async () => {
    offset = 0
    const backend = new CountingBackend()
    const task = await open(backend, 2)
    // A batch may need more keys than the cache holds: all of them stay until it commits.
    await task.runBatch(['a', 'b', 'c', 'd'].map((user) => visit({ user })))
    backend.keyLoads.length = 0
    await task.runBatch([visit({ user: 'c' }), visit({ user: 'd' })])
    expect(backend.keyLoads).toEqual([])
    // a and b were evicted (least recently used), from the committed state only: they come back exact.
    await task.runBatch([visit({ user: 'a' }), visit({ user: 'b' })])
    expect(backend.keyLoads).toEqual([['a', 'b']])
    expect(counts(backend).slice(6)).toEqual(['a:2', 'b:2'])
  })

  it('should not offer entries() or size, which would see only the cached part', async () => {
    offset = 0
    const task = await open(new CountingBackend())
    const seen = task.store<number>('seen')!
    expect(() => [...seen.entries()]).toThrow(/keyed/)
    expect(() => seen.size).toThrow(/keyed/)
  })
})
