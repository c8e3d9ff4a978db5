import { describe, expect, it } from 'vitest'
import { SagaStores } from '../../processors/order-saga.ts'
import { Topics } from '../../processors/topics.ts'
import { Internal, NOW, SagaDriver } from '../support/saga-driver.ts'

/** Products 10 (5 units at 100) and 11 (5 at 50); users 1 and 2 with 10,000 points; user 1's coupon 100. */
const shop = () => new SagaDriver({ coupons: { 100: { userId: 1, orderId: null } } })

describe('OrderSaga', () => {
  it('should reserve, pay, use the coupon and complete, with one status event and every step recorded', async () => {
    const s = shop()
    s.order(
      1,
      1,
      [
        [10, 1],
        [11, 2],
        [10, 1],
      ],
      { finalAmount: 250, userCouponId: 100 },
    )
    await s.process()
    expect(s.statuses()).toEqual([
      { orderId: 1, userId: 1, status: 'COMPLETED', completedAt: new Date(NOW).toISOString() },
    ])
    expect([s.stock(10), s.stock(11), s.points(1), s.coupon(100)]).toEqual([
      3,
      3,
      9_750,
      { userId: 1, orderId: 1 },
    ])
    expect(s.restores()).toEqual([])
    // Lines of one product are summed; products 10 and 11 are on two partitions: one chain of two
    // reserves, the saga's to 10's owner, which sends the order on to 11's, which sends the payment.
    const payment = { userId: 1, amount: 250, userCouponId: 100 }
    expect(s.driver.allOutputs('shop-stock-commands').map((r) => r.value)).toEqual([
      {
        kind: 'reserve',
        orderId: 1,
        lines: [{ productId: 10, quantity: 2 }],
        chain: { next: [{ lines: [{ productId: 11, quantity: 2 }] }], reserved: [], payment },
      },
      {
        kind: 'reserve',
        orderId: 1,
        lines: [{ productId: 11, quantity: 2 }],
        chain: { next: [], reserved: [{ productId: 10, quantity: 2 }], payment },
      },
    ])
    expect(s.driver.allOutputs('shop-user-commands').map((r) => r.value)).toEqual([
      { kind: 'deduct-points', orderId: 1, ...payment },
    ])
    // The saga hears back once, from the payment's owner.
    expect(s.driver.allOutputs('shop-saga-replies').map((r) => r.value)).toEqual([
      { kind: 'coupon-used', orderId: 1, userCouponId: 100 },
    ])
    // The order row is written when the saga first sees the order and once more when it ends: the
    // steps between live in the saga's store, not in an UPDATE of the row per step.
    const progress = s.driver.table<{ op: string; step?: string; status?: string }>('saga-orders')
    expect(progress.map((r) => (r.op === 'create' ? 'create' : `${r.step} ${r.status}`))).toEqual([
      'create',
      'DONE COMPLETED',
    ])
    expect(s.driver.allOutputs(Topics.ORDER_STATUS)[0]?.headers['commerce.output-id']).toBe(
      'shop/order-status-topic/1/status',
    )
  })

  // Every step's business failure: the reason, and exactly the restore events of the steps done before it.
  // Each with the records its redelivery pipes again: the order, its commands and hops, the one
  // reply and the restore events.
  const failures: Array<[string, (s: SagaDriver) => void, string, string[], number]> = [
    [
      'an unknown product',
      (s) =>
        s.order(1, 1, [
          [10, 2],
          [99, 1],
        ]),
      // Known before any step: nothing is taken, nothing given back.
      'PRODUCT_NOT_FOUND',
      [],
      1,
    ],
    [
      'a product short of stock',
      (s) =>
        s.order(1, 1, [
          [10, 2],
          [11, 6],
        ]),
      'INSUFFICIENT_STOCK',
      ['stock-restore-topic 1/stock/10 2'],
      5,
    ],
    [
      'a user short of points',
      (s) =>
        s.order(
          1,
          1,
          [
            [10, 2],
            [11, 1],
          ],
          { finalAmount: 10_001 },
        ),
      'INSUFFICIENT_POINTS',
      ['stock-restore-topic 1/stock/10 2', 'stock-restore-topic 1/stock/11 1'],
      7,
    ],
    [
      'an unknown user',
      (s) => s.order(1, 9, [[10, 2]]),
      'USER_NOT_FOUND',
      ['stock-restore-topic 1/stock/10 2'],
      5,
    ],
    [
      "another user's coupon",
      (s) =>
        s.order(
          1,
          2,
          [
            [10, 2],
            [11, 1],
          ],
          { finalAmount: 250, userCouponId: 100 },
        ),
      'COUPON_NOT_USABLE',
      [
        'point-restore-topic 1/points 250',
        'stock-restore-topic 1/stock/10 2',
        'stock-restore-topic 1/stock/11 1',
      ],
      8,
    ],
  ]

  it.each(failures)(
    'should fail an order with %s, give back exactly what it took, and change nothing on redelivery',
    async (_, place, reason, restores, redelivered) => {
      const s = shop()
      const before = s.snapshot()
      place(s)
      await s.process()
      expect(s.outcomes()).toEqual({ 1: `FAILED ${reason}` })
      expect(s.restores()).toEqual(restores)
      // Everything given back: the shop is as it was, apart from the order's events.
      const after = s.snapshot()
      expect({ ...after, statuses: [], restores: [], history: 0, outcomes: 0 }).toEqual({
        ...before,
        history: 0,
        outcomes: 0,
      })
      expect(s.driver.table<{ outcome: string }>('restore-outcomes').map((r) => r.outcome)).toEqual(
        restores.map(() => 'APPLIED'),
      )
      // Every order, command, reply and restore again: nothing moves, no second status event.
      expect(s.redeliverEverything()).toBe(redelivered)
      await s.process()
      expect(s.snapshot()).toEqual(after)
    },
  )

  it('should change nothing when a completed order and all its messages are delivered again', async () => {
    const s = shop()
    s.order(1, 1, [[10, 1]], { userCouponId: 100 })
    await s.process()
    const after = s.snapshot()
    // The order, its 2 commands (reserve; deduct with the coupon: one owner, one command) and 1 reply.
    expect(s.redeliverEverything()).toBe(4)
    s.driver.restart()
    await s.process()
    expect(s.snapshot()).toEqual(after)
    const ignored = [0, 1, 2].map((p) => s.driver.store<number>(SagaStores.IGNORED, p))
    expect(ignored.reduce((n, st) => n + (st.get('duplicate-order') ?? 0), 0)).toBe(1)
    // The reply delivered again, and the user owner's answer to its command delivered again (the saga's
    // topics are not de-duplicated by the library: every processor is idempotent by itself; the stock
    // owner answers its reserve again by sending the same payment on, which the user owner answers).
    expect(ignored.reduce((n, st) => n + (st.get('not-awaited') ?? 0), 0)).toBe(3)
  })

  it("should let exactly one of two orders racing for a product's last unit complete, conserving stock", async () => {
    const s = new SagaDriver({ products: { 10: { stock: 1, price: 100 }, 11: { stock: 5, price: 50 } } })
    s.order(1, 1, [
      [11, 1],
      [10, 1],
    ])
    s.order(2, 2, [
      [11, 2],
      [10, 1],
    ])
    await s.process()
    const outcomes = Object.values(s.outcomes()).sort()
    expect(outcomes).toEqual(['COMPLETED', 'FAILED INSUFFICIENT_STOCK'])
    const winner = s.statuses().find((e) => e.status === 'COMPLETED')!.orderId
    const sold11 = winner === 1 ? 1 : 2
    // initial stock = stock + quantity sold in COMPLETED orders, for each product.
    expect([s.stock(10), s.stock(11)]).toEqual([0, 5 - sold11])
    expect(s.statuses()).toHaveLength(2)
  })

  it('should let one of two orders using the same coupon at once complete, and restore the other one fully', async () => {
    const s = shop()
    s.order(1, 1, [[10, 1]], { finalAmount: 100, userCouponId: 100 })
    s.order(2, 1, [[11, 2]], { finalAmount: 80, userCouponId: 100 })
    await s.process()
    const outcomes = s.outcomes()
    expect(Object.values(outcomes).sort()).toEqual(['COMPLETED', 'FAILED COUPON_NOT_USABLE'])
    const winner = outcomes[1] === 'COMPLETED' ? 1 : 2
    const loser = 3 - winner
    expect(s.coupon(100)).toEqual({ userId: 1, orderId: winner })
    expect(s.points(1)).toBe(10_000 - (winner === 1 ? 100 : 80))
    expect([s.stock(10), s.stock(11)]).toEqual(winner === 1 ? [4, 5] : [5, 3])
    expect(s.restores().filter((r) => r.includes(` ${loser}/`))).toHaveLength(2)
    expect(s.restores().every((r) => r.includes(` ${loser}/`))).toBe(true)
  })

  it.each([
    ['with points enough', 250],
    ['short of points', 10_001],
  ])(
    'should fail an order %s whose product holds a reservation of its id another producer made, giving that back',
    async (_, finalAmount) => {
      const s = shop()
      // Another producer's reserve for order 1, of another quantity, reaches the owner of 10 first.
      s.driver.pipe(Internal.STOCK_COMMANDS, '10', {
        kind: 'reserve',
        orderId: 1,
        lines: [{ productId: 10, quantity: 3 }],
      })
      await s.process()
      expect(s.stock(10)).toBe(2)
      s.order(1, 1, [[10, 2]], { finalAmount })
      await s.process()
      // Counting those 3 units as the order's 2 would break initial stock = stock + sold.
      expect(s.outcomes()).toEqual({ 1: 'FAILED INSUFFICIENT_STOCK' })
      expect(s.restores()).toEqual(['stock-restore-topic 1/stock/10 3'])
      expect([s.stock(10), s.points(1)]).toEqual([5, 10_000])
    },
  )

  it('should complete an order whose reservation of the same size another producer asked for first', async () => {
    const s = shop()
    s.order(
      1,
      1,
      [
        [10, 2],
        [11, 1],
      ],
      { finalAmount: 250 },
    )
    // Another producer's plain reserve for order 1: its owner answers the saga for product 10 alone.
    s.driver.pipe(Internal.STOCK_COMMANDS, '10', {
      kind: 'reserve',
      orderId: 1,
      lines: [{ productId: 10, quantity: 2 }],
    })
    await s.process()
    // That partial answer must not make the saga deaf to the chain's payment (the order hung PENDING).
    expect(s.outcomes()).toEqual({ 1: 'COMPLETED' })
    expect([s.stock(10), s.stock(11), s.points(1)]).toEqual([3, 4, 9_750])
    expect(s.statuses()).toHaveLength(1)
  })

  it('should create an order it has never seen (produced straight to the topic), priced from the products', async () => {
    const s = shop()
    s.order(
      42,
      2,
      [
        [10, 2],
        [11, 1],
      ],
      { finalAmount: 200 },
    )
    await s.process()
    const [created] = s.driver.table('saga-orders')
    expect(created).toEqual({
      op: 'create',
      orderId: 42,
      userId: 2,
      userCouponId: null,
      totalAmount: 250,
      discountAmount: 50,
      finalAmount: 200,
      createdAt: new Date(NOW).toISOString(),
      items: [
        { productId: 10, quantity: 2, name: 'product 10', price: 100 },
        { productId: 11, quantity: 1, name: 'product 11', price: 50 },
      ],
    })
    expect(s.outcomes()).toEqual({ 42: 'COMPLETED' })
  })

  it('should end every order of a rush with exactly one status event, and conserve stock and points', async () => {
    const s = new SagaDriver({
      products: { 10: { stock: 7, price: 100 }, 11: { stock: 4, price: 50 } },
      users: { 1: 1_000, 2: 300, 3: 0 },
    })
    for (let orderId = 1; orderId <= 30; orderId++)
      s.order(orderId, (orderId % 3) + 1, [[10 + (orderId % 2), 1 + (orderId % 2)]], { finalAmount: 100 })
    await s.process()
    const statuses = s.statuses()
    expect(statuses.map((e) => e.orderId).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    )
    const completed = statuses.filter((e) => e.status === 'COMPLETED').map((e) => e.orderId)
    const sold = (p: number) =>
      completed.filter((o) => 10 + (o % 2) === p).reduce((n, o) => n + 1 + (o % 2), 0)
    expect([s.stock(10) + sold(10), s.stock(11) + sold(11)]).toEqual([7, 4])
    const paid = (u: number) => completed.filter((o) => (o % 3) + 1 === u).length * 100
    expect([1, 2, 3].map((u) => s.points(u) + paid(u))).toEqual([1_000, 300, 0])
    expect(completed.length).toBeGreaterThan(0)
    expect(completed.length).toBeLessThan(30)
  })
})
