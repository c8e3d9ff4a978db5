/**
 * The stock owner as one hop of an order's chain (issue 9, docs/architecture.md "The order saga"): with
 * 3 partitions, products 10, 12 and 13 are on partition 1, 11 on partition 0 and 16 on partition 2.
 */
import { describe, expect, it } from 'vitest'
import type { StockCommand } from '../../processors/order-commands.ts'
import { UserLookups, UserStores } from '../../processors/user-owner.ts'
import { partitionForKey } from '../../topology/partitioner.ts'
import { COMMANDS, command, driver, type Lines, replies, stockOf } from '../support/stock-driver.ts'

describe('StockOwner: one hop of an order’s chain', () => {
  const payment = { userId: 7, amount: 300 }
  const chained = (orderId: number, lines: Lines, chain: StockCommand['chain'], forwarded?: boolean) => ({
    ...command(orderId, lines, forwarded),
    chain,
  })
  const USER_COMMANDS = 'shop-user-commands'

  it('should send the order on to the next group’s owner, then the last owner the payment, each once', async () => {
    const d = driver({ 10: 3, 11: 5 })
    const first = chained(1, [[10, 2]], {
      next: [{ lines: [{ productId: 11, quantity: 1 }] }],
      reserved: [],
      payment,
    })
    d.setLookup(UserLookups.POINTS, '7', 1_000)
    d.pipe(COMMANDS, '10', first)
    await d.process()
    const hops = d.allOutputs<StockCommand>(COMMANDS)
    expect(hops.map((r) => [r.key, r.partition, r.value])).toEqual([
      ['11', 0, chained(1, [[11, 1]], { next: [], reserved: [{ productId: 10, quantity: 2 }], payment })],
    ])
    const payments = d.allOutputs(USER_COMMANDS)
    expect(payments.map((r) => [r.key, r.value, r.headers['commerce.output-id']])).toEqual([
      ['7', { kind: 'deduct-points', orderId: 1, ...payment }, 'shop/shop-user-commands/1/deduct-points'],
    ])
    expect([stockOf(d, 10), stockOf(d, 11)]).toEqual([1, 4])
    // The first hop again (it sends the second on again): the same records go on, with the same ids,
    // and no unit is taken twice.
    d.pipe(COMMANDS, '10', first)
    await d.process()
    expect(
      d
        .allOutputs<StockCommand>(COMMANDS)
        .slice(1)
        .map((r) => r.headers['commerce.output-id']),
    ).toEqual(['shop/shop-stock-commands/1/reserve/11'])
    expect(
      d
        .allOutputs(USER_COMMANDS)
        .slice(1)
        .map((r) => r.value),
    ).toEqual([payments[0]!.value])
    expect([stockOf(d, 10), stockOf(d, 11)]).toEqual([1, 4])
    // Not one of the stock owners answered the saga: the payment's owner did, the same both times, and
    // took the points once.
    expect(replies(d).map((r) => r.kind)).toEqual(['points-deducted', 'points-deducted'])
    expect(d.store<number>(UserStores.POINTS, partitionForKey('7', 3)).get('7')).toBe(700)
  })

  it('should stop at a short line and answer every line of the order: the reserved, its own, the never asked', async () => {
    const d = driver({ 10: 3, 12: 1, 11: 5 })
    const hop = chained(
      1,
      [
        [10, 2],
        [12, 2],
      ],
      {
        next: [{ lines: [{ productId: 11, quantity: 1 }] }],
        reserved: [{ productId: 16, quantity: 4 }],
        payment,
      },
    )
    d.pipe(COMMANDS, '10', hop)
    await d.process()
    expect(replies(d)).toEqual([
      {
        kind: 'stock-answered',
        orderId: 1,
        answers: [
          { productId: 16, state: 'RESERVED', quantity: 4 },
          { productId: 10, state: 'RESERVED', quantity: 2 },
          { productId: 12, state: 'SHORT', reason: 'INSUFFICIENT_STOCK' },
          { productId: 11, state: 'SHORT', reason: 'NOT_ASKED' },
        ],
      },
    ])
    expect(d.allOutputs(COMMANDS)).toEqual([])
    expect(d.allOutputs(USER_COMMANDS)).toEqual([])
    expect([stockOf(d, 10), stockOf(d, 12), stockOf(d, 11)]).toEqual([1, undefined, undefined])
  })

  it('should stop, answering the quantity it holds, when the order’s reservation of a product has another size', async () => {
    const d = driver({ 10: 5, 11: 5 })
    // Another producer's reserve for order 1 took 3 of product 10 first.
    d.pipe(COMMANDS, '10', command(1, [[10, 3]]))
    d.pipe(
      COMMANDS,
      '10',
      chained(1, [[10, 2]], { next: [{ lines: [{ productId: 11, quantity: 1 }] }], reserved: [], payment }),
    )
    await d.process()
    expect(replies(d).at(-1)).toEqual({
      kind: 'stock-answered',
      orderId: 1,
      answers: [
        { productId: 10, state: 'RESERVED', quantity: 3 },
        { productId: 11, state: 'SHORT', reason: 'NOT_ASKED' },
      ],
    })
    expect([d.allOutputs(COMMANDS), d.allOutputs(USER_COMMANDS)]).toEqual([[], []])
    expect(stockOf(d, 10)).toBe(2)
  })

  it('should send lines it does not own on first, as a forwarded hop, and a forwarded hop’s foreign lines NOT_OWNED', async () => {
    const d = driver({ 10: 3, 11: 5, 16: 2 })
    // A count mismatch: 11 reached 10's partition in its group.
    d.pipe(
      COMMANDS,
      '10',
      chained(
        1,
        [
          [10, 1],
          [11, 2],
        ],
        { next: [{ lines: [{ productId: 16, quantity: 1 }] }], reserved: [], payment },
      ),
    )
    await d.process()
    const [hop, ...more] = d.allOutputs<StockCommand>(COMMANDS)
    expect([hop?.key, hop?.partition, hop?.value, hop?.headers['commerce.output-id'], more.length]).toEqual([
      '11',
      0,
      chained(
        1,
        [[11, 2]],
        {
          next: [{ lines: [{ productId: 16, quantity: 1 }] }],
          reserved: [{ productId: 10, quantity: 1 }],
          payment,
        },
        true,
      ),
      'shop/shop-stock-commands/1/reserve/11/forwarded',
      1,
    ])
    expect(d.allOutputs(USER_COMMANDS)).toHaveLength(1)
    expect([stockOf(d, 10), stockOf(d, 11), stockOf(d, 16)]).toEqual([2, 3, 1])
    // A forwarded hop that still reaches a partition not owning a line stops the chain there.
    const d2 = driver({ 10: 3, 11: 5 })
    d2.pipe(
      COMMANDS,
      '10',
      chained(
        2,
        [
          [10, 1],
          [11, 2],
        ],
        { next: [], reserved: [], payment },
        true,
      ),
    )
    await d2.process()
    expect(
      replies(d2).flatMap((r) => (r.kind === 'stock-answered' ? r.answers.map((a) => a.state) : [])),
    ).toEqual(['RESERVED', 'SHORT'])
    expect(d2.allOutputs(COMMANDS)).toEqual([])
  })

  it('should send a chain naming a product twice, or more than 100 lines in all, to the DLQ', async () => {
    const d = driver({ 10: 3 })
    const line = (productId: number) => ({ productId, quantity: 1 })
    d.pipe(
      COMMANDS,
      '10',
      chained(1, [[10, 1]], { next: [{ lines: [line(12)] }], reserved: [line(10)], payment }),
    )
    d.pipe(
      COMMANDS,
      '10',
      chained(2, [[10, 1]], {
        next: [{ lines: Array.from({ length: 100 }, (_, i) => line(20 + i)) }],
        reserved: [],
        payment,
      }),
    )
    await d.process()
    expect(d.dlq(COMMANDS).map((r) => `${r.headers['error.code']} ${r.headers['error.message']}`)).toEqual([
      'VALIDATION_FAILED chain.reserved[0].productId: product 10 is named twice',
      'VALIDATION_FAILED chain: 101 lines in all, at most 100',
    ])
    expect(stockOf(d, 10)).toBeUndefined()
  })
})
