import { describe, expect, it } from 'vitest'
import { filter, to } from '../../../topology/dsl/index.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('filter', () => {
  it('should pass on only the records its predicate holds for, reading value and key', async () => {
    const driver = await drive<{ qty: number }>(
      (orders) =>
        orders.pipe(
          filter((order, key) => order.qty >= 10 && key !== 'blocked'),
          to('big'),
        ),
      [
        ['a', { qty: 5 }],
        ['b', { qty: 10 }],
        ['blocked', { qty: 50 }],
        ['c', { qty: 12 }],
      ],
    )
    expect(published(driver, 'big')).toEqual([
      ['b', { qty: 10 }],
      ['c', { qty: 12 }],
    ])
  })
})
