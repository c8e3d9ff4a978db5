import { describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../topology/api.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import { FencedError } from '../../topology/runtime/backend.ts'
import { openTask, order, TASK, topologyOf } from '../support/partition-task-fixtures.ts'

describe('MemoryBackend', () => {
  it('should keep committed values apart from the objects a processor or a test holds', async () => {
    const held: Array<{ n: number }> = []
    const topology = topologyOf((_record, context) => {
      const value = { n: 1 }
      held.push(value)
      context.store<KeyValueStore<{ n: number }>>('totals').put('k', value)
    })
    const { task, backend } = await openTask(topology)
    await task.runBatch([order(0, 1)])
    // A stored value is frozen: the processor's own reference can no longer change it.
    expect(() => {
      held[0]!.n = 99
    }).toThrow(TypeError)
    const view = backend.storeView<{ n: number }>(TASK, 'totals')
    view.get('k')!.n = 42
    expect(view.get('k')).toEqual({ n: 1 })
    expect(await backend.loadStore(TASK, 'totals')).toEqual([['k', { n: 1 }]])
    expect(() => view.put('k', { n: 2 })).toThrow(/read-only/)
  })

  it('should refuse a commit whose expected offset moved, changing nothing', async () => {
    const backend = new MemoryBackend()
    const { epoch } = await backend.claim(TASK, 'test', new Map([['orders', 5n]]))
    const commit = (expected: bigint) =>
      backend.commit({
        task: TASK,
        epoch,
        offsets: [{ topic: 'orders', expected, next: expected + 1n }],
        stores: [{ store: 'totals', changes: { puts: [['k', 1]], deletes: [] } }],
        outputs: [{ topic: 'totals', key: Buffer.from('k'), value: Buffer.from('1'), headers: {} }],
      })
    await expect(commit(4n)).rejects.toBeInstanceOf(FencedError)
    expect([backend.commits, backend.outbox.length, backend.storeView(TASK, 'totals').size]).toEqual([
      0, 0, 0,
    ])
    await commit(5n)
    expect(backend.offsets(TASK).get('orders')).toBe(6n)
    expect(backend.outbox.length).toBe(1)
  })
})
