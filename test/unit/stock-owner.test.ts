import { describe, expect, it } from 'vitest'
import type { SagaReply } from '../../processors/order-commands.ts'
import { ORDER_STATUS_LOOKUP } from '../../processors/restore-outcomes.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { StockLookups, StockStores } from '../../processors/stock-owner.ts'
import { Topics } from '../../processors/topics.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { failedOrders } from '../support/saga-driver.ts'

const COMMANDS = 'shop-stock-commands'
const REPLIES = 'shop-saga-replies'

function driver(stock: Record<number, number> = { 10: 3 }) {
  const d = new TopologyTestDriver(shopTopology('shop'), { partitions: 3 })
  for (const [productId, units] of Object.entries(stock)) d.setLookup(StockLookups.STOCK, productId, units)
  failedOrders(d)
  return d
}
const reserve = (d: TopologyTestDriver, orderId: number, productId: number, quantity: number) =>
  d.pipe(COMMANDS, String(productId), { kind: 'reserve', orderId, productId, quantity })
const restore = (
  d: TopologyTestDriver,
  eventId: string,
  orderId: number,
  productId: number,
  quantity: number,
) => d.pipe(Topics.STOCK_RESTORE, String(productId), { eventId, orderId, productId, quantity })
const replies = (d: TopologyTestDriver) => d.output<SagaReply>(REPLIES).map((r) => r.value)
/** The stock the owner committed for a product (wherever its partition is). */
const stockOf = (d: TopologyTestDriver, productId: number) =>
  [0, 1, 2]
    .map((p) => d.store<number>(StockStores.STOCK, p).get(String(productId)))
    .find((s) => s !== undefined)
const outcomes = (d: TopologyTestDriver) =>
  d.table<{ eventId: string; outcome: string }>('restore-outcomes').map((r) => `${r.eventId}:${r.outcome}`)

describe('StockOwner', () => {
  it('should reserve while stock lasts, then answer short, keeping every level in products.stock', async () => {
    const d = driver()
    reserve(d, 1, 10, 2)
    reserve(d, 2, 10, 2)
    reserve(d, 3, 10, 1)
    await d.process()
    expect(replies(d)).toEqual([
      { kind: 'stock-reserved', orderId: 1, productId: 10, quantity: 2 },
      { kind: 'stock-short', orderId: 2, productId: 10, reason: 'INSUFFICIENT_STOCK' },
      { kind: 'stock-reserved', orderId: 3, productId: 10, quantity: 1 },
    ])
    expect(stockOf(d, 10)).toBe(0)
    expect(d.table('product-stock-levels').at(-1)).toEqual({ productId: 10, stock: 0 })
    // Each reply goes to the order's partition of the replies topic, keyed by orderId.
    expect(d.allOutputs(REPLIES).map((r) => r.key)).toEqual(['1', '2', '3'])
  })

  it('should answer a product it does not know PRODUCT_NOT_FOUND, taking nothing', async () => {
    const d = driver()
    reserve(d, 1, 99, 1)
    await d.process()
    expect(replies(d)).toEqual([
      { kind: 'stock-short', orderId: 1, productId: 99, reason: 'PRODUCT_NOT_FOUND' },
    ])
    expect(d.table('product-stock-levels')).toEqual([])
  })

  it('should answer a reserve delivered twice with the same reply, taking the units once', async () => {
    const d = driver({ 10: 3 })
    reserve(d, 1, 10, 2)
    reserve(d, 2, 10, 2)
    await d.process()
    // Redelivered later (beyond the de-duplication window, or by another producer): the decisions stand,
    // even the short one, though a restore in between could have made room.
    reserve(d, 1, 10, 2)
    reserve(d, 2, 10, 2)
    restore(d, '1/stock/10', 1, 10, 2)
    reserve(d, 2, 10, 2)
    await d.process()
    expect(replies(d).map((r) => r.kind)).toEqual([
      'stock-reserved',
      'stock-short',
      'stock-reserved',
      'stock-short',
      'stock-short',
    ])
    expect(stockOf(d, 10)).toBe(3)
  })

  it('should apply a restore event once when the same eventId arrives twice', async () => {
    const d = driver({ 10: 5 })
    reserve(d, 1, 10, 4)
    await d.process()
    restore(d, '1/stock/10', 1, 10, 4)
    restore(d, '1/stock/10', 1, 10, 4)
    await d.process()
    restore(d, '1/stock/10', 1, 10, 4)
    d.restart()
    await d.process()
    expect(stockOf(d, 10)).toBe(5)
    expect(outcomes(d)).toEqual(['1/stock/10:APPLIED'])
  })

  it('should give back only what an order reserved when a restore comes from an unknown producer', async () => {
    const d = driver({ 10: 5 })
    reserve(d, 1, 10, 2)
    await d.process()
    restore(d, 'ext-a', 7, 10, 3) // order 7 reserved nothing
    restore(d, 'ext-b', 1, 10, 5) // order 1 reserved 2, not 5
    restore(d, 'ext-c', 1, 10, 2) // the real reservation: given back once
    restore(d, '1/stock/10', 1, 10, 2) // the saga's own restore, after another producer's
    await d.process()
    expect(stockOf(d, 10)).toBe(5)
    expect(outcomes(d)).toEqual([
      'ext-a:IGNORED: the order holds no reservation of the product',
      'ext-b:IGNORED: the order reserved 2, not 5',
      'ext-c:APPLIED',
      '1/stock/10:IGNORED: the order holds no reservation of the product',
    ])
  })

  it('should keep what an order took when a restore names an order that did not fail', async () => {
    const d = driver({ 10: 5 })
    d.setLookup(ORDER_STATUS_LOOKUP, '20', 'COMPLETED')
    d.setLookup(ORDER_STATUS_LOOKUP, '21', 'PENDING')
    reserve(d, 20, 10, 2)
    reserve(d, 21, 10, 1)
    await d.process()
    restore(d, '20/stock/10', 20, 10, 2) // a completed order's units are sold
    restore(d, 'ext-21', 21, 10, 1) // a running order's are still in play
    restore(d, 'ext-30', 30, 10, 1) // an order nobody knows
    await d.process()
    expect(stockOf(d, 10)).toBe(2)
    expect(outcomes(d)).toEqual([
      '20/stock/10:IGNORED: the order is COMPLETED, not FAILED',
      'ext-21:IGNORED: the order is PENDING, not FAILED',
      'ext-30:IGNORED: the order is unknown, not FAILED',
    ])
  })

  it('should send mis-keyed and malformed commands and restores to the DLQ, and carry on', async () => {
    const d = driver()
    d.pipe(COMMANDS, '11', { kind: 'reserve', orderId: 1, productId: 10, quantity: 1 }, { partition: 0 })
    d.pipe(COMMANDS, '10', { kind: 'reserve', orderId: 1, productId: 10, quantity: 0 })
    d.pipe(
      Topics.STOCK_RESTORE,
      '11',
      { eventId: 'e', orderId: 1, productId: 10, quantity: 1 },
      { partition: 0 },
    )
    reserve(d, 2, 10, 1)
    await d.process()
    expect(d.dlq(COMMANDS).map((r) => r.headers['error.code'])).toEqual(['KEY_MISMATCH', 'VALIDATION_FAILED'])
    expect(d.dlq(Topics.STOCK_RESTORE).map((r) => r.headers['error.message'])).toEqual([
      'key: "11" must be the productId "10"',
    ])
    expect(replies(d)).toEqual([{ kind: 'stock-reserved', orderId: 2, productId: 10, quantity: 1 }])
  })
})
