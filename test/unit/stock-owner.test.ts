import { describe, expect, it } from 'vitest'
import type { SagaReply, StockCommand } from '../../processors/order-commands.ts'
import { ORDER_STATUS_LOOKUP } from '../../processors/restore-outcomes.ts'
import { Topics } from '../../processors/topics.ts'
import type { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import {
  COMMANDS,
  command,
  driver,
  type Lines,
  P,
  REPLIES,
  replies,
  stockAt,
  stockOf,
} from '../support/stock-driver.ts'

/** A reserve as the saga sends it: keyed by its first line's product. */
const reserve = (d: TopologyTestDriver, orderId: number, lines: Lines, partition?: number) =>
  d.pipe(
    COMMANDS,
    String(lines[0]![0]),
    command(orderId, lines),
    partition === undefined ? {} : { partition },
  )
const restore = (
  d: TopologyTestDriver,
  eventId: string,
  orderId: number,
  productId: number,
  quantity: number,
) => d.pipe(Topics.STOCK_RESTORE, String(productId), { eventId, orderId, productId, quantity })
const reserved = (orderId: number, productId: number, quantity: number): SagaReply => ({
  kind: 'stock-answered',
  orderId,
  answers: [{ productId, state: 'RESERVED', quantity }],
})
const short = (orderId: number, productId: number, reason: string) => ({
  kind: 'stock-answered',
  orderId,
  answers: [{ productId, state: 'SHORT', reason }],
})
const outcomes = (d: TopologyTestDriver) =>
  d.table<{ eventId: string; outcome: string }>('restore-outcomes').map((r) => `${r.eventId}:${r.outcome}`)

describe('StockOwner', () => {
  it('should reserve while stock lasts, then answer short, keeping every level in products.stock', async () => {
    const d = driver()
    reserve(d, 1, [[10, 2]])
    reserve(d, 2, [[10, 2]])
    reserve(d, 3, [[10, 1]])
    await d.process()
    expect(replies(d)).toEqual([reserved(1, 10, 2), short(2, 10, 'INSUFFICIENT_STOCK'), reserved(3, 10, 1)])
    expect(stockOf(d, 10)).toBe(0)
    expect(d.table('product-stock-levels').at(-1)).toEqual({ productId: 10, stock: 0 })
    // Each reply goes to the order's partition of the replies topic, keyed by orderId.
    expect(d.allOutputs(REPLIES).map((r) => r.key)).toEqual(['1', '2', '3'])
  })

  it('should answer every line of a command in one reply, each line all or none', async () => {
    const d = driver({ 10: 3, 12: 1, 13: 4 })
    expect([P(10), P(12), P(13)]).toEqual([1, 1, 1])
    reserve(d, 1, [
      [10, 2],
      [12, 2],
      [13, 4],
    ])
    await d.process()
    expect(replies(d)).toEqual([
      {
        kind: 'stock-answered',
        orderId: 1,
        answers: [
          { productId: 10, state: 'RESERVED', quantity: 2 },
          { productId: 12, state: 'SHORT', reason: 'INSUFFICIENT_STOCK' },
          { productId: 13, state: 'RESERVED', quantity: 4 },
        ],
      },
    ])
    // The short line took nothing; the others are taken until the saga restores them.
    expect([stockOf(d, 10), stockOf(d, 12), stockOf(d, 13)]).toEqual([1, undefined, 0])
    expect(d.allOutputs(COMMANDS)).toEqual([])
  })

  it('should answer a product it does not know PRODUCT_NOT_FOUND, taking nothing', async () => {
    const d = driver()
    reserve(d, 1, [[99, 1]])
    await d.process()
    expect(replies(d)).toEqual([short(1, 99, 'PRODUCT_NOT_FOUND')])
    expect(d.table('product-stock-levels')).toEqual([])
  })

  it('should answer a reserve delivered twice with the same reply, taking the units once', async () => {
    const d = driver({ 10: 3 })
    reserve(d, 1, [[10, 2]])
    reserve(d, 2, [[10, 2]])
    await d.process()
    // Redelivered later (beyond the de-duplication window, or by another producer): the decisions stand,
    // even the short one, though a restore in between could have made room.
    reserve(d, 1, [[10, 2]])
    reserve(d, 2, [[10, 2]])
    restore(d, '1/stock/10', 1, 10, 2)
    reserve(d, 2, [[10, 2]])
    await d.process()
    expect(replies(d).map((r) => (r.kind === 'stock-answered' ? r.answers[0]!.state : r.kind))).toEqual([
      'RESERVED',
      'SHORT',
      'RESERVED',
      'SHORT',
      'SHORT',
    ])
    expect(stockOf(d, 10)).toBe(3)
  })

  it('should answer a grouped command delivered twice with the same reply and id, taking each line once', async () => {
    const d = driver({ 10: 3, 12: 3 })
    const lines: Lines = [
      [10, 2],
      [12, 3],
    ]
    reserve(d, 1, lines)
    await d.process()
    reserve(d, 1, lines)
    d.restart()
    await d.process()
    const [first, again] = d.allOutputs<SagaReply>(REPLIES)
    expect(again!.value).toEqual(first!.value)
    expect(again!.headers['commerce.output-id']).toBe(first!.headers['commerce.output-id'])
    expect(first!.headers['commerce.output-id']).toBe('shop/shop-saga-replies/1/reserve/10')
    expect([stockOf(d, 10), stockOf(d, 12)]).toEqual([1, 0])
  })

  it('should send lines of products it does not own on to their owner, changing none of them itself', async () => {
    const d = driver({ 10: 3, 11: 5, 16: 2 })
    expect([P(10), P(11), P(16)]).toEqual([1, 0, 2])
    // Another producer's command: keyed by its first line, but with lines of three partitions.
    reserve(d, 1, [
      [10, 1],
      [11, 2],
      [16, 1],
    ])
    await d.process()
    const forwarded = d.allOutputs<StockCommand>(COMMANDS)
    expect(forwarded.map((r) => [r.key, r.partition, r.value])).toEqual([
      ['11', 0, command(1, [[11, 2]], true)],
      ['16', 2, command(1, [[16, 1]], true)],
    ])
    expect(forwarded[0]!.headers['commerce.output-id']).toBe(
      'shop/shop-stock-commands/1/reserve/11/forwarded',
    )
    // Each owner answered its own lines (in whatever order the partitions ran); the partition the
    // command reached changed only its own product.
    const byProduct = (r: SagaReply) => (r.kind === 'stock-answered' ? r.answers[0]!.productId : 0)
    expect(replies(d).sort((a, b) => byProduct(a) - byProduct(b))).toEqual([
      reserved(1, 10, 1),
      reserved(1, 11, 2),
      reserved(1, 16, 1),
    ])
    expect([stockAt(d, 1, 10), stockAt(d, 0, 11), stockAt(d, 2, 16)]).toEqual([2, 3, 1])
    expect([stockAt(d, 1, 11), stockAt(d, 1, 16)]).toEqual([undefined, undefined])
  })

  it('should forward a whole command that reached a partition not owning its key, as a hostile producer could', async () => {
    const d = driver({ 11: 5 })
    reserve(d, 1, [[11, 2]], 1) // the key is right, the partition is not 11's
    await d.process()
    expect(d.allOutputs<StockCommand>(COMMANDS).map((r) => r.partition)).toEqual([0])
    expect(replies(d)).toEqual([reserved(1, 11, 2)])
    expect([stockAt(d, 1, 11), stockAt(d, 0, 11)]).toEqual([undefined, 3])
  })

  it('should answer a forwarded command’s lines it still does not own SHORT NOT_OWNED, never forwarding again', async () => {
    const d = driver({ 10: 3, 11: 5 })
    d.pipe(
      COMMANDS,
      '10',
      command(
        1,
        [
          [10, 1],
          [11, 2],
        ],
        true,
      ),
    )
    await d.process()
    expect(replies(d)).toEqual([
      {
        kind: 'stock-answered',
        orderId: 1,
        answers: [
          { productId: 10, state: 'RESERVED', quantity: 1 },
          { productId: 11, state: 'SHORT', reason: 'NOT_OWNED' },
        ],
      },
    ])
    expect(d.allOutputs(COMMANDS)).toEqual([])
    expect([stockOf(d, 11), stockAt(d, 1, 11)]).toEqual([undefined, undefined])
  })

  it('should apply a restore event once when the same eventId arrives twice', async () => {
    const d = driver({ 10: 5 })
    reserve(d, 1, [[10, 4]])
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
    reserve(d, 1, [[10, 2]])
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
    reserve(d, 20, [[10, 2]])
    reserve(d, 21, [[10, 1]])
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
    const d = driver({ 10: 3, 12: 3 })
    const line = (productId: number) => ({ productId, quantity: 1 })
    const bad = (key: string, lines: unknown[]) =>
      d.pipe(COMMANDS, key, { kind: 'reserve', orderId: 1, lines }, { partition: 1 })
    bad('12', [line(10), line(12)]) // keyed by its second line
    bad('10', [{ productId: 10, quantity: 0 }])
    bad('10', [])
    bad(
      '10',
      Array.from({ length: 101 }, (_, i) => line(10 + i)),
    )
    bad('10', [line(10), line(12), line(10)])
    d.pipe(COMMANDS, '10', { kind: 'reserve', orderId: 1, productId: 10, quantity: 1 }) // the old shape
    d.pipe(
      Topics.STOCK_RESTORE,
      '11',
      { eventId: 'e', orderId: 1, productId: 10, quantity: 1 },
      { partition: 0 },
    )
    reserve(d, 2, [[10, 1]])
    await d.process()
    expect(d.dlq(COMMANDS).map((r) => `${r.headers['error.code']} ${r.headers['error.message']}`)).toEqual([
      `KEY_MISMATCH key: "12" must be the first line's productId "10"`,
      'VALIDATION_FAILED lines[0].quantity: must be >= 1',
      'VALIDATION_FAILED lines: must not have fewer than 1 items',
      'VALIDATION_FAILED lines: must not have more than 100 items',
      'VALIDATION_FAILED lines[2].productId: product 10 is named twice',
      'VALIDATION_FAILED lines: is required',
    ])
    expect(d.dlq(Topics.STOCK_RESTORE).map((r) => r.headers['error.message'])).toEqual([
      'key: "11" must be the productId "10"',
    ])
    expect(replies(d)).toEqual([reserved(2, 10, 1)])
    expect(stockOf(d, 12)).toBeUndefined()
  })
})
