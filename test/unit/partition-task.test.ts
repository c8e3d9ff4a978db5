import { describe, expect, it } from 'vitest'
import type { KeyValueStore, ProcessorContext } from '../../topology/api.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import type { StreamRecord } from '../../topology/record.ts'
import { FencedError } from '../../topology/runtime/backend.ts'
import {
  type Order,
  openTask,
  order,
  outputs,
  raw,
  sum,
  TASK,
  topologyOf,
  values,
} from '../support/partition-task-fixtures.ts'

describe('PartitionTask', () => {
  it('should process records in partition order and commit them with their offsets', async () => {
    const seen: bigint[] = []
    const { task, backend, totals } = await openTask(
      topologyOf((record, context) => {
        seen.push(record.offset)
        sum(record, context)
      }),
    )
    const result = await task.runBatch([order(0, 1), order(1, 2), order(2, 3, 'other'), order(3, 4)])
    expect(seen).toEqual([0n, 1n, 2n, 3n])
    expect(result).toMatchObject({ consumed: 4, dlq: 0, outputs: 4 })
    expect(values(backend)).toEqual([{ total: 1 }, { total: 3 }, { total: 3 }, { total: 7 }])
    expect(new Map(totals.entries())).toEqual(
      new Map([
        ['k', 7],
        ['other', 3],
      ]),
    )
    expect(backend.offsets(TASK)).toEqual(new Map([['orders', 4n]]))
    expect(backend.commits).toBe(1)
  })

  it('should give every output a deterministic streams.output-id header', async () => {
    const twice = (record: StreamRecord<Order>, context: ProcessorContext) => {
      context.emit('out', { key: record.key, value: 'a', headers: { mine: 'kept' } })
      context.emit('out', { key: record.key, value: 'b' })
    }
    const ids = async () => {
      const { task, backend } = await openTask(topologyOf(twice))
      await task.runBatch([order(0, 1), order(1, 1)])
      return outputs(backend).map((o) => o.headers)
    }
    const first = await ids()
    expect(first.map((h) => h['streams.output-id'])).toEqual([
      'app/orders/0/0/0',
      'app/orders/0/0/1',
      'app/orders/0/1/0',
      'app/orders/0/1/1',
    ])
    expect(first[0]!.mine).toBe('kept')
    expect(await ids()).toEqual(first)
  })

  it('should send poison JSON to <topic>.dlq with the original bytes and the error, and carry on', async () => {
    const { task, backend, totals } = await openTask(topologyOf(sum))
    const poison = Buffer.from([0x7b, 0x22, 0xff, 0x00])
    const result = await task.runBatch([order(0, 1), raw(1, poison, 'bad'), order(2, 2)])
    expect(result).toMatchObject({ consumed: 3, dlq: 1, outputs: 2 })
    const [dead, ...more] = outputs(backend, 'orders.dlq')
    expect(more).toEqual([])
    expect(dead!.key).toEqual(Buffer.from('bad'))
    expect(dead!.value.equals(poison)).toBe(true)
    expect(dead!.headers).toMatchObject({
      'error.code': 'DESERIALIZATION_FAILED',
      'original.topic': 'orders',
      'original.partition': '0',
      'original.offset': '1',
      'original.timestamp': '1001',
      'streams.output-id': 'app/orders/0/1/dlq',
      trace: 't1',
    })
    expect(dead!.headers['error.message']!.length).toBeGreaterThan(0)
    expect(totals.get('k')).toBe(3)
    expect(backend.offsets(TASK).get('orders')).toBe(3n)
  })

  it('should send a record that fails validation to the DLQ with VALIDATION_FAILED and the field', async () => {
    const { task, backend } = await openTask(topologyOf(sum))
    await task.runBatch([raw(0, '{"item":"x","qty":"two"}')])
    const [dead] = outputs(backend, 'orders.dlq')
    expect(dead!.headers['error.code']).toBe('VALIDATION_FAILED')
    expect(dead!.headers['error.message']).toBe('qty: must be a number')
    expect(dead!.value.toString()).toBe('{"item":"x","qty":"two"}')
  })

  it('should retry a record whose processing throws and undo the failed attempt', async () => {
    let attempts = 0
    const { task, backend, totals } = await openTask(
      topologyOf((record, context) => {
        const store = context.store<KeyValueStore<number>>('totals')
        if (++attempts === 1) {
          store.put('only-in-failed-attempt', 1)
          store.put(record.key!, 100)
          context.emit('out', { key: record.key, value: 'failed attempt' })
          throw new Error('flaky')
        }
        sum(record, context)
      }),
    )
    const result = await task.runBatch([order(0, 5)])
    expect(attempts).toBe(2)
    expect(result).toMatchObject({ consumed: 1, dlq: 0, outputs: 1 })
    expect(new Map(totals.entries())).toEqual(new Map([['k', 5]]))
    expect(
      outputs(backend).map((o) => [JSON.parse(o.value.toString()), o.headers['streams.output-id']]),
    ).toEqual([[{ total: 5 }, 'app/orders/0/0/0']])
  })

  it('should let an async processor emit after an await, and undo and retry one whose promise rejects', async () => {
    let attempts = 0
    const { task, backend, totals } = await openTask(
      topologyOf(async (record, context) => {
        await Promise.resolve()
        const store = context.store<KeyValueStore<number>>('totals')
        if (record.key === 'flaky' && ++attempts === 1) {
          store.put('flaky', 100)
          context.emit('out', { key: record.key, value: 'failed attempt' })
          await Promise.resolve()
          throw new Error('flaky')
        }
        sum(record, context)
      }),
    )
    const result = await task.runBatch([order(0, 1), order(1, 2, 'flaky'), order(2, 3)])
    expect(attempts).toBe(2)
    expect(result).toMatchObject({ consumed: 3, dlq: 0, outputs: 3 })
    expect(new Map(totals.entries())).toEqual(
      new Map([
        ['k', 4],
        ['flaky', 2],
      ]),
    )
    expect(outputs(backend).map((o) => o.headers['streams.output-id'])).toEqual([
      'app/orders/0/0/0',
      'app/orders/0/1/0',
      'app/orders/0/2/0',
    ])
  })

  it('should send a record that always throws to the DLQ as PROCESSING_FAILED after maxAttempts', async () => {
    let attempts = 0
    const { task, backend, totals } = await openTask(
      topologyOf(
        (record, context) => {
          if (record.key === 'bad') {
            attempts++
            context.store<KeyValueStore<number>>('totals').put('bad', 1)
            throw new Error('always broken')
          }
          sum(record, context)
        },
        { maxAttempts: 4 },
      ),
    )
    const result = await task.runBatch([order(0, 1), order(1, 1, 'bad'), order(2, 2)])
    expect(attempts).toBe(4)
    expect(result).toMatchObject({ consumed: 3, dlq: 1, outputs: 2 })
    expect(
      outputs(backend, 'orders.dlq').map((o) => [o.headers['error.code'], o.headers['error.message']]),
    ).toEqual([['PROCESSING_FAILED', 'always broken']])
    expect(new Map(totals.entries())).toEqual(new Map([['k', 3]]))
    expect(backend.offsets(TASK).get('orders')).toBe(3n)
  })

  it("should stop at a failing record under onError 'stop', committing the records before it only", async () => {
    const { task, backend, totals } = await openTask(
      topologyOf(
        (record, context) => {
          if (record.key === 'bad') throw new Error('cannot go on')
          sum(record, context)
        },
        { onError: 'stop', maxAttempts: 2 },
      ),
    )
    const result = await task.runBatch([order(0, 1), order(1, 2), order(2, 1, 'bad'), order(3, 4)])
    expect(result).toMatchObject({
      consumed: 2,
      dlq: 0,
      outputs: 2,
      stoppedAt: { topic: 'orders', offset: 2n, error: 'cannot go on' },
    })
    expect(task.state).toBe('stopped')
    expect(task.stopReason).toContain('orders@2')
    expect(backend.offsets(TASK).get('orders')).toBe(2n)
    expect(totals.get('k')).toBe(3)
    expect(outputs(backend, 'orders.dlq')).toEqual([])
    await expect(task.runBatch([order(3, 4)])).rejects.toThrow(/stopped/)
  })

  it('should skip records below the committed offset, as after a redelivery', async () => {
    const seen: bigint[] = []
    const { task, totals } = await openTask(
      topologyOf((record, context) => {
        seen.push(record.offset)
        sum(record, context)
      }),
    )
    await task.runBatch([order(0, 1), order(1, 1)])
    const result = await task.runBatch([order(0, 1), order(1, 1), order(2, 1)])
    expect(seen).toEqual([0n, 1n, 2n])
    expect(result.consumed).toBe(1)
    expect(totals.get('k')).toBe(3)
  })

  it('should refuse the commit of a task fenced by a newer claim and change nothing', async () => {
    const topology = topologyOf(sum)
    const { task: stale, backend, totals } = await openTask(topology)
    const { task: current } = await openTask(topology, backend)
    expect(backend.epoch(TASK)).toBe(2)
    await expect(stale.runBatch([order(0, 1)])).rejects.toBeInstanceOf(FencedError)
    expect(stale.state).toBe('fenced')
    expect(backend.commits).toBe(0)
    expect(backend.outbox).toEqual([])
    expect(totals.size).toBe(0)
    expect(backend.offsets(TASK).get('orders')).toBe(0n)
    await current.runBatch([order(0, 1)])
    expect(totals.get('k')).toBe(1)
  })

  it('should leave no trace of a failed commit and commit the same batch when run again', async () => {
    const { task, backend, totals } = await openTask(topologyOf(sum))
    await task.runBatch([order(0, 1)])
    backend.failNextCommits(1, new Error('database went away'))
    await expect(task.runBatch([order(1, 2), order(2, 3)])).rejects.toThrow('database went away')
    expect(totals.get('k')).toBe(1)
    expect(task.store<number>('totals')!.get('k')).toBe(1)
    expect(task.positions.get('orders')).toBe(1n)
    expect(backend.offsets(TASK).get('orders')).toBe(1n)
    expect(values(backend)).toEqual([{ total: 1 }])
    await task.runBatch([order(1, 2), order(2, 3)])
    expect(values(backend)).toEqual([{ total: 1 }, { total: 3 }, { total: 6 }])
    expect(totals.get('k')).toBe(6)
  })
})

/** Regressions: each once let a retried record apply its effects twice. */
describe('PartitionTask regressions', () => {
  it('regression: a stored value changed in place is refused, so no retry can apply the change twice', async () => {
    let attempts = 0
    const topology = topologyOf((record, context) => {
      const totals = context.store<KeyValueStore<{ n: number }>>('totals')
      const total = totals.get('k') ?? { n: 0 }
      total.n += record.value.qty
      totals.put('k', total)
      if (record.offset === 1n && ++attempts === 1) throw new Error('flaky')
    })
    const { task } = await openTask(topology)
    await task.runBatch([order(0, 1)])
    const result = await task.runBatch([order(1, 10)])
    // Stored values are frozen: the in-place change throws on every attempt and the record is dead-lettered.
    expect(result.dead).toEqual([{ topic: 'orders', code: 'PROCESSING_FAILED' }])
    expect(task.store<{ n: number }>('totals')!.get('k')).toEqual({ n: 1 })
  })

  it('regression: a batch that throws before its commit should leave no writes behind', async () => {
    let broken = true
    const topology = topologyOf((record, context) => {
      if (record.offset === 1n && broken) throw new Error('flaky')
      sum(record, context)
    })
    const { task, backend } = await openTask(topology, new MemoryBackend(), {
      observer: {
        retried: () => {
          broken = false
          throw new Error('metrics: invalid label')
        },
      },
    })
    await expect(task.runBatch([order(0, 1), order(1, 2)])).rejects.toThrow('invalid label')
    await task.runBatch([order(0, 1), order(1, 2)])
    expect(backend.storeView<number>(TASK, 'totals').get('k')).toBe(3)
  })
})

describe('PartitionTask through the TopologyTestDriver', () => {
  it('should process a record that stopped its partition again after a restart', async () => {
    let broken = true
    const driver = new TopologyTestDriver(
      topologyOf(
        (record, context) => {
          if (record.value.item === 'boom' && broken) throw new Error('downstream is down')
          sum(record, context)
        },
        { onError: 'stop' },
      ),
      { partitions: 1 },
    )
    driver.pipe('orders', 'k', { item: 'x', qty: 1 })
    driver.pipe('orders', 'k', { item: 'boom', qty: 10 })
    driver.pipe('orders', 'k', { item: 'x', qty: 100 })
    await driver.process()
    expect(driver.stoppedTasks()).toEqual([
      { processor: 'summer', partition: 0, reason: 'stopped at orders@1: downstream is down' },
    ])
    expect(driver.store<number>('totals', 0).get('k')).toBe(1)
    await driver.process()
    expect(driver.store<number>('totals', 0).get('k')).toBe(1)

    broken = false
    driver.restart()
    expect(driver.stoppedTasks()).toEqual([])
    await driver.process()
    expect(driver.store<number>('totals', 0).get('k')).toBe(111)
    expect(driver.output('totals').map((o) => o.value)).toEqual([{ total: 1 }, { total: 11 }, { total: 111 }])
    expect(driver.dlq('orders')).toEqual([])
  })
})
