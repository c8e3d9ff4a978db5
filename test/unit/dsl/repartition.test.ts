import { describe, expect, it } from 'vitest'
import { TopologyTestDriver } from '../../../topology/driver/test-driver.ts'
import { repartition, selectKey, to } from '../../../topology/dsl/index.ts'
import { StreamsBuilder } from '../../../topology/dsl/streams-builder.ts'
import { partitionForKey } from '../../../topology/partitioner.ts'
import { jsonValue } from '../../../topology/serde.ts'

describe('repartition', () => {
  const topology = () => {
    const builder = new StreamsBuilder('shop')
    builder.stream('orders', { topic: 'orders', parse: jsonValue<{ user: string }>() }).pipe(
      selectKey((order) => order.user),
      repartition('by-user', { partitions: 5 }),
      to('orders-by-user'),
    )
    return builder.build()
  }

  it('should route records through the internal topic <applicationId>-<name>, partitioned by their new key', async () => {
    const driver = new TopologyTestDriver(topology(), { partitions: { orders: 2, 'orders-by-user': 5 } })
    for (const user of ['ann', 'bob', 'cid', 'dan']) driver.pipe('orders', `order-of-${user}`, { user })
    await driver.process()
    const out = driver.output<{ user: string }>('orders-by-user')
    expect(out.map((r) => r.key).sort()).toEqual(['ann', 'bob', 'cid', 'dan'])
    for (const r of out) expect(r.partition).toBe(partitionForKey(r.key, 5))
  })

  it('should declare the internal topic with its partition count, read by a processor of its own', () => {
    const t = topology()
    expect(t.topics().internal).toEqual(['shop-by-user', 'shop-by-user.dlq'])
    expect(t.node('source', 'by-user')).toMatchObject({
      topic: 'shop-by-user',
      partitions: 5,
      internal: true,
    })
    expect(t.node('sink', 'by-user-sink')).toMatchObject({ topic: 'shop-by-user', internal: true })
    expect(t.node('processor', 'by-user-processor').sinks).toEqual(['to-orders-by-user'])
  })
})
