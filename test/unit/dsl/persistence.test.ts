import { describe, expect, it } from 'vitest'
import { shopTopology } from '../../../processors/shop-topology.ts'
import { process, StreamsBuilder } from '../../../topology/dsl/index.ts'
import type { LookupReader } from '../../../topology/postgres/state-backend.ts'
import { jsonValue } from '../../../topology/serde.ts'

const reader: LookupReader = async () => new Map()

describe('readers and writers travel with the processor', () => {
  it('should carry the lookups and tables a process step declares, readers and writers included', () => {
    const { lookups, tables } = shopTopology('shop').persistence()
    expect(Object.keys(lookups).sort()).toEqual([
      'coupons',
      'order-products',
      'product-stock-rows',
      'restore-order-status',
      'user-coupon-rows',
      'user-point-rows',
      'users',
    ])
    expect(Object.keys(tables).sort()).toEqual([
      'coupon-quantities',
      'coupon-requests',
      'point-history',
      'product-stock-levels',
      'restore-outcomes',
      'saga-orders',
      'user-coupon-states',
      'user-coupons',
      'user-point-levels',
    ])
  })

  it('should refuse two different readers for one lookup, and a reader no step reads', () => {
    const builder = new StreamsBuilder('app')
    const s = builder.stream('in', { topic: 'in', parse: jsonValue<{ id: string }>() })
    const step = (name: string, read: LookupReader) =>
      process<{ id: string }, unknown>(() => ({ process() {} }), {
        name,
        lookups: { users: (v) => v.id },
        readers: { users: read },
      })
    s.pipe(step('a', reader))
    s.pipe(step('b', async () => new Map()))
    s.pipe(process(() => ({ process() {} }), { name: 'c', readers: { ghosts: reader } }))
    expect(() => builder.build()).toThrow(/reader of lookup "users": two different ones given/)
    expect(() => builder.build()).toThrow(/reader of lookup "ghosts": no step reads it/)
  })
})
