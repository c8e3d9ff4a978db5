import { describe, expect, it } from 'vitest'
import { groupByKey, selectKey, to } from '../../../topology/dsl/index.ts'
import { count } from '../../../topology/dsl/operators/count.ts'
import { StreamsBuilder } from '../../../topology/dsl/streams-builder.ts'
import { TopologyError } from '../../../topology/errors.ts'
import { jsonValue } from '../../../topology/serde.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('selectKey', () => {
  it('should give each record the key the function picks, keeping its value', async () => {
    const driver = await drive<{ userId: string }>(
      (orders) =>
        orders.pipe(
          selectKey((order) => order.userId),
          to('by-user'),
        ),
      [['order-1', { userId: 'alice' }]],
    )
    expect(published(driver, 'by-user')).toEqual([['alice', { userId: 'alice' }]])
  })

  it('should refuse a groupByKey after it without a repartition: its keys are on other partitions', () => {
    const builder = new StreamsBuilder('app')
    builder.stream('in', { topic: 'in', parse: jsonValue<{ userId: string }>() }).pipe(
      selectKey((order) => order.userId),
      groupByKey(),
      count('per-user'),
      to('out'),
    )
    expect(() => builder.build()).toThrow(TopologyError)
    expect(() => builder.build()).toThrow(
      /groupByKey after select-key "select-key-1".*repartition\(name\) first/,
    )
  })
})
