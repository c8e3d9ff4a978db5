/**
 * `ProcessorContext.partitionFor(sink, key)`: the partition the relay will put a record emitted to a
 * sink with a key on — the producer's murmur2 of the key modulo the sink topic's count — or undefined
 * when that count is unknown. Checked through the TopologyTestDriver (which knows every topic's count)
 * and through the PartitionTask as the runtime builds it (with the counts of the topics it reads).
 */
import { describe, expect, it } from 'vitest'
import type { ProcessorContext } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { isStreamsError } from '../../topology/errors.ts'
import { partitionForKey } from '../../topology/partitioner.ts'
import type { StreamRecord } from '../../topology/record.ts'
import { jsonValue } from '../../topology/serde.ts'
import { openTask, order, topologyOf, values } from '../support/partition-task-fixtures.ts'

/** Emits each record's key to `out` with the partition `partitionFor` predicted for it. */
const predicting = () =>
  new TopologyBuilder('app')
    .source('words', { topic: 'words', parse: jsonValue<{ to: string }>() })
    .sink('out', { topic: 'routed' })
    .processor<{ to: string }>('router', {
      sources: ['words'],
      sinks: ['out'],
      supplier: () => ({
        process(record: StreamRecord<{ to: string }>, ctx: ProcessorContext) {
          const key = record.value.to
          ctx.emit('out', { key, value: { predicted: ctx.partitionFor('out', key) } })
        },
      }),
    })
    .build()

const KEYS = ['alice', 'bob', 'carol', 'dave', '10', '11', '12', '13', '한국어']

describe('ProcessorContext.partitionFor', () => {
  it('should predict, in the driver, the partition each emitted record lands on', async () => {
    const driver = new TopologyTestDriver(predicting(), { partitions: { words: 2, routed: 5 } })
    for (const to of KEYS) driver.pipe('words', 'w', { to })
    await driver.process()
    const routed = driver.allOutputs<{ predicted: number }>('routed')
    expect(routed.map((r) => r.value.predicted)).toEqual(routed.map((r) => r.partition))
    expect(routed.map((r) => r.partition)).toEqual(KEYS.map((k) => partitionForKey(k, 5)))
    // Not all on one partition: the prediction is the key's, not a constant.
    expect(new Set(routed.map((r) => r.partition)).size).toBeGreaterThan(1)
    driver.close()
  })

  it('should answer from the counts the runtime gives the task, and undefined for a topic it does not know', async () => {
    const predict = (record: StreamRecord<{ qty: number }>, ctx: ProcessorContext) => {
      ctx.emit('out', { key: record.key, value: ctx.partitionFor('out', record.key!) ?? 'unknown' })
    }
    const known = await openTask(topologyOf(predict), undefined, {
      partitions: (topic) => (topic === 'totals' ? 4 : undefined),
    })
    await known.task.runBatch(KEYS.map((k, i) => order(i, 1, k)))
    expect(values(known.backend)).toEqual(KEYS.map((k) => partitionForKey(k, 4)))

    const unknown = await openTask(topologyOf(predict))
    await unknown.task.runBatch([order(0, 1, 'alice')])
    expect(values(unknown.backend)).toEqual(['unknown'])
  })

  it('should refuse a sink the processor did not declare, as emit does', async () => {
    const errors: unknown[] = []
    const probe = (_: StreamRecord<{ qty: number }>, ctx: ProcessorContext) => {
      try {
        ctx.partitionFor('elsewhere', 'k')
      } catch (error) {
        errors.push(error)
      }
    }
    const { task } = await openTask(topologyOf(probe), undefined, { partitions: () => 3 })
    await task.runBatch([order(0, 1)])
    expect(errors).toHaveLength(1)
    expect(isStreamsError(errors[0], 'UNDECLARED_USE')).toBe(true)
  })
})
