import { describe, expect, it } from 'vitest'
import { aggregate, groupByKey, to } from '../../../topology/dsl/index.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('aggregate', () => {
  it('should fold each key from its initial value into its store and forward each new aggregate', async () => {
    const driver = await drive<{ amount: number }>(
      (orders) =>
        orders.pipe(
          groupByKey(),
          aggregate(
            'spend',
            () => ({ orders: 0, total: 0 }),
            (sum, order) => ({ orders: sum.orders + 1, total: sum.total + order.amount }),
          ),
          to('spend-topic'),
        ),
      [
        ['ann', { amount: 10 }],
        ['bob', { amount: 1 }],
        ['ann', { amount: 5 }],
      ],
    )
    expect(published(driver, 'spend-topic')).toEqual([
      ['ann', { orders: 1, total: 10 }],
      ['bob', { orders: 1, total: 1 }],
      ['ann', { orders: 2, total: 15 }],
    ])
    expect(driver.store('spend', 0).get('ann')).toEqual({ orders: 2, total: 15 })
  })
})
