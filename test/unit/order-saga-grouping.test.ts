/**
 * The saga's stock step, one reserve per partition of the stock commands, sent from owner to owner as
 * one chain that ends with the payment (issue 9): with 3 partitions,
 * products 10, 12 and 13 land on partition 1 and 11 on partition 0 (murmur2 of the key).
 */
import { describe, expect, it } from 'vitest'
import type { SagaReply, StockCommand } from '../../processors/order-commands.ts'
import { Topics } from '../../processors/topics.ts'
import { partitionForKey } from '../../topology/partitioner.ts'
import { Internal, SagaDriver } from '../support/saga-driver.ts'

const shop = (stock: Record<number, number> = {}) =>
  new SagaDriver({
    products: Object.fromEntries(
      [10, 11, 12, 13].map((id) => [id, { stock: stock[id] ?? 5, price: 10 }]),
    ) as Record<number, { stock: number; price: number }>,
  })
const commands = (s: SagaDriver) =>
  s.driver.allOutputs<StockCommand>(Internal.STOCK_COMMANDS).map((r) => ({
    key: r.key,
    id: r.headers['commerce.output-id'],
    lines: r.value.lines.map((l) => `${l.productId}x${l.quantity}`),
  }))
/** The saga's replies: the kind, and for a stock owner's, each line's answer. */
const replies = (s: SagaDriver) =>
  s.driver
    .allOutputs<SagaReply>(Internal.SAGA_REPLIES)
    .map((r) =>
      r.value.kind === 'stock-answered'
        ? r.value.answers.map((a) => `${a.productId} ${a.state === 'SHORT' ? a.reason : a.state}`)
        : r.value.kind,
    )

describe('OrderSaga: one reserve per stock partition, sent as one chain', () => {
  it('should send two products of one partition as one command, whose owner sends the payment', async () => {
    expect([10, 12].map((p) => partitionForKey(String(p), 3))).toEqual([1, 1])
    const s = shop()
    s.order(1, 1, [
      [12, 1],
      [10, 2],
    ])
    await s.process()
    expect(commands(s)).toEqual([
      { key: '12', id: 'shop/shop-stock-commands/1/reserve/12', lines: ['12x1', '10x2'] },
    ])
    // No stock reply: the owner sent the order on to the user's owner, who answers the saga.
    expect(replies(s)).toEqual(['points-deducted'])
    expect(s.outcomes()).toEqual({ 1: 'COMPLETED' })
    expect([s.stock(10), s.stock(12)]).toEqual([3, 4])
  })

  it('should send products of two partitions as two commands, each keyed by its first line, one after the other', async () => {
    const s = shop()
    s.order(1, 1, [
      [10, 1],
      [11, 1],
      [13, 2],
      [10, 1],
    ])
    await s.process()
    expect(commands(s)).toEqual([
      { key: '10', id: 'shop/shop-stock-commands/1/reserve/10', lines: ['10x2', '13x2'] },
      { key: '11', id: 'shop/shop-stock-commands/1/reserve/11', lines: ['11x1'] },
    ])
    // The second sent by the first group's owner, after reserving its lines; the last one pays.
    expect(
      s.driver.allOutputs<StockCommand>(Internal.STOCK_COMMANDS).map((r) => r.value.chain?.reserved),
    ).toEqual([
      [],
      [
        { productId: 10, quantity: 2 },
        { productId: 13, quantity: 2 },
      ],
    ])
    expect(replies(s)).toEqual(['points-deducted'])
    expect(s.outcomes()).toEqual({ 1: 'COMPLETED' })
    expect([s.stock(10), s.stock(11), s.stock(13)]).toEqual([3, 4, 3])
  })

  it('should stop the chain when one line of a group is short, restoring the lines reserved, asking no more', async () => {
    const s = shop({ 12: 1 })
    const before = s.snapshot()
    s.order(1, 1, [
      [10, 2],
      [11, 1],
      [12, 2],
    ])
    await s.process()
    // 11's owner is never asked: the chain stops at the short line, its owner answering every line.
    expect(commands(s).map((c) => c.lines)).toEqual([['10x2', '12x2']])
    expect(replies(s)).toEqual([['10 RESERVED', '12 INSUFFICIENT_STOCK', '11 NOT_ASKED']])
    expect(s.outcomes()).toEqual({ 1: 'FAILED INSUFFICIENT_STOCK' })
    expect(s.restores()).toEqual(['stock-restore-topic 1/stock/10 2'])
    const after = s.snapshot()
    expect(after.stock).toEqual(before.stock)
    // The order, its command and reply, and its restore delivered again: nothing moves.
    s.redeliverEverything()
    s.driver.restart()
    await s.process()
    expect(s.snapshot()).toEqual(after)
  })

  it('should change nothing when a completed order’s grouped command, payment and reply are delivered again', async () => {
    const s = shop()
    s.order(1, 1, [
      [10, 1],
      [12, 1],
      [13, 1],
    ])
    await s.process()
    const after = s.snapshot()
    // The order, 1 reserve, the deduct its owner sent on, and the one reply.
    expect(s.redeliverEverything()).toBe(4)
    await s.process()
    expect(s.snapshot()).toEqual(after)
    expect(s.driver.allOutputs(Topics.ORDER_STATUS)).toHaveLength(1)
    expect([s.stock(10), s.stock(12), s.stock(13)]).toEqual([4, 4, 4])
  })
})
