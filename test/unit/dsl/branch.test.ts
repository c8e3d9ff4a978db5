import { describe, expect, it } from 'vitest'
import { branch, to } from '../../../topology/dsl/index.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('branch', () => {
  it('should send each record to the first branch whose predicate holds, and drop records none holds for', async () => {
    const driver = await drive<{ qty: number }>(
      (orders) => {
        const { big, medium } = orders.pipe(branch({ big: (o) => o.qty >= 10, medium: (o) => o.qty >= 5 }))
        big.pipe(to('big'))
        medium.pipe(to('medium'))
      },
      [
        ['a', { qty: 20 }],
        ['b', { qty: 7 }],
        ['c', { qty: 1 }],
        ['d', { qty: 10 }],
      ],
    )
    expect(published(driver, 'big')).toEqual([
      ['a', { qty: 20 }],
      ['d', { qty: 10 }],
    ])
    expect(published(driver, 'medium')).toEqual([['b', { qty: 7 }]])
  })
})
