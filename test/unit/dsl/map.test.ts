import { describe, expect, it } from 'vitest'
import { map, to } from '../../../topology/dsl/index.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('map', () => {
  it('should give each record a new value and keep its key', async () => {
    const driver = await drive<{ qty: number; price: number }>(
      (orders) =>
        orders.pipe(
          map((order, key) => ({ user: key, total: order.qty * order.price })),
          to('totals'),
        ),
      [
        ['u1', { qty: 2, price: 5 }],
        ['u2', { qty: 1, price: 7 }],
      ],
    )
    expect(published(driver, 'totals')).toEqual([
      ['u1', { user: 'u1', total: 10 }],
      ['u2', { user: 'u2', total: 7 }],
    ])
  })
})
