/** PartitionTask against hostile input: keys that are not storable text, batches the backend refuses. */
import { describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import type { RawRecord } from '../../topology/record.ts'
import type { TaskId } from '../../topology/runtime/backend.ts'
import { Headers, PartitionTask } from '../../topology/runtime/task.ts'

const TASK: TaskId = { applicationId: 'app', processor: 'keeper', partition: 0 }

// A parser that checks nothing, as a user might write one: the task and backend must still cope.
const topology = new TopologyBuilder('app')
  .source('notes', { topic: 'notes', parse: (bytes) => ({ text: String(bytes) }) })
  .store('texts')
  .processor<{ text: string }>('keeper', {
    sources: ['notes'],
    stores: ['texts'],
    supplier: () => ({
      process(record, ctx) {
        ctx.store<KeyValueStore<string>>('texts').put(record.key ?? 'none', record.value.text)
      },
    }),
  })
  .build()

const note = (offset: number, value: string, key: Buffer | null = Buffer.from(`k${offset}`)): RawRecord => ({
  topic: 'notes',
  partition: 0,
  offset: BigInt(offset),
  key,
  value: Buffer.from(value),
  timestamp: 0,
  headers: {},
})

async function openTask() {
  const backend = new MemoryBackend()
  const task = new PartitionTask({
    topology,
    processor: topology.node('processor', 'keeper'),
    partition: 0,
    backend,
    owner: 'test',
    clock: () => 0,
  })
  await task.open(new Map([['notes', 0n]]))
  return { task, backend }
}

const deadLetters = (backend: MemoryBackend) =>
  backend.outbox
    .filter((o) => o.topic === 'notes.dlq')
    .map((o) => [o.headers[Headers.ERROR_CODE], o.headers[Headers.ORIGINAL_OFFSET]])

describe('PartitionTask with hostile records', () => {
  it('should send keys that are not UTF-8 or hold NUL to the DLQ instead of handing them on', async () => {
    const { task, backend } = await openTask()
    const result = await task.runBatch([
      note(0, 'a', Buffer.from([0xff, 0xfe])),
      note(1, 'b', Buffer.from('x\u0000y')),
      note(2, 'c', Buffer.from('\ud800')), // encodes as U+FFFD: valid UTF-8, stored as it reads
      note(3, 'd'),
    ])
    expect(result).toMatchObject({ consumed: 4, dlq: 2 })
    expect(deadLetters(backend)).toEqual([
      ['DESERIALIZATION_FAILED', '0'],
      ['VALIDATION_FAILED', '1'],
    ])
    expect([...backend.storeView(TASK, 'texts').entries()]).toEqual([
      ['\ufffd', 'c'],
      ['k3', 'd'],
    ])
  })

  it('should split a batch the backend refuses down to the records responsible, and commit the rest', async () => {
    const { task, backend } = await openTask()
    const batch = Array.from({ length: 9 }, (_, i) =>
      note(i, i === 2 || i === 8 ? `bad\u0000${i}` : `ok${i}`),
    )
    const result = await task.runBatch(batch)
    expect(result).toMatchObject({ consumed: 9, dlq: 2 })
    expect(deadLetters(backend)).toEqual([
      ['COMMIT_REJECTED', '2'],
      ['COMMIT_REJECTED', '8'],
    ])
    expect(backend.offsets(TASK)).toEqual(new Map([['notes', 9n]]))
    expect(backend.storeView(TASK, 'texts').size).toBe(7)
    // Bisection: a handful of commits, not one per record.
    expect(backend.commits).toBeLessThanOrEqual(8)
  })
})
