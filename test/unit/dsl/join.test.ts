import { describe, expect, it } from 'vitest'
import { count, groupByKey, join, map, to } from '../../../topology/dsl/index.ts'
import { StreamsBuilder } from '../../../topology/dsl/streams-builder.ts'
import { TopologyError } from '../../../topology/errors.ts'
import { jsonValue } from '../../../topology/serde.ts'
import { drive, published } from '../../support/dsl-driver.ts'

interface Order {
  user: string
  amount: number
}

describe('join', () => {
  it('should join each record with its lookup entry, fetched by a key computed after earlier operators', async () => {
    const driver = await drive<Order>(
      (orders) =>
        orders.pipe(
          // The lookup key exists only after this map: the batch's keys are fetched through it.
          map((order) => ({ ...order, userKey: `user-${order.user}` })),
          join(
            'users',
            (order) => order.userKey,
            (order, user: { name: string }) => ({ name: user.name, amount: order.amount }),
          ),
          to('named-orders'),
        ),
      [
        ['o1', { user: 'a', amount: 3 }],
        ['o2', { user: 'nobody', amount: 9 }],
        ['o3', { user: 'b', amount: 4 }],
      ],
      { lookups: { users: { 'user-a': { name: 'Ann' }, 'user-b': { name: 'Bob' } } } },
    )
    // An inner join: the order of a user the lookup does not know is dropped.
    expect(published(driver, 'named-orders')).toEqual([
      ['o1', { name: 'Ann', amount: 3 }],
      ['o3', { name: 'Bob', amount: 4 }],
    ])
  })

  it('should refuse a join after a stateful operator in the same processor: its keys cannot be fetched first', () => {
    const builder = new StreamsBuilder('app')
    builder.stream('in', { topic: 'in', parse: jsonValue<string>() }).pipe(
      groupByKey(),
      count('n'),
      join(
        'tiers',
        (n) => String(n),
        (n, tier: string) => `${n}:${tier}`,
      ),
      to('out'),
    )
    expect(() => builder.build()).toThrow(TopologyError)
    expect(() => builder.build()).toThrow(/join "join-2".*"count-1" \(count\) before it keeps state/)
  })
})
