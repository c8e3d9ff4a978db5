/** The shop topology on the TopologyTestDriver, set up for the order saga: products, users, coupons, orders. */
import type { OrderStatusEvent } from '../../processors/order-messages.ts'
import { SagaLookups, SagaTables } from '../../processors/order-saga.ts'
import { ORDER_STATUS_LOOKUP } from '../../processors/restore-outcomes.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { StockLookups, StockStores } from '../../processors/stock-owner.ts'
import { Topics } from '../../processors/topics.ts'
import { type CouponUse, UserLookups, UserStores } from '../../processors/user-owner.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'

export const NOW = Date.parse('2026-11-24T10:00:00Z')
export const Internal = {
  STOCK_COMMANDS: 'shop-stock-commands',
  USER_COMMANDS: 'shop-user-commands',
  SAGA_REPLIES: 'shop-saga-replies',
} as const

export interface ShopSetup {
  /** Units on hand and price, by productId. */
  products?: Record<number, { stock: number; price: number }>
  /** Points, by userId. */
  users?: Record<number, number>
  coupons?: Record<number, CouponUse>
}

/**
 * Orders 1 to 9 FAILED, as their saga's commit would have marked them: an owner applies a restore only
 * for an order whose row says so. Other orders read as unknown unless set.
 */
export function failedOrders(d: TopologyTestDriver): void {
  for (let orderId = 1; orderId <= 9; orderId++) d.setLookup(ORDER_STATUS_LOOKUP, String(orderId), 'FAILED')
}

export class SagaDriver {
  readonly driver = new TopologyTestDriver(shopTopology('shop'), { partitions: 3, startTime: NOW })
  readonly #setup: Required<ShopSetup>
  readonly #orders: Array<{ key: string; value: unknown }> = []

  constructor(setup: ShopSetup = {}) {
    this.#setup = {
      products: setup.products ?? { 10: { stock: 5, price: 100 }, 11: { stock: 5, price: 50 } },
      users: setup.users ?? { 1: 10_000, 2: 10_000 },
      coupons: setup.coupons ?? {},
    }
    // The owners check a restore's order FAILED by reading the row the saga commits.
    this.driver.feedLookup(SagaTables.ORDERS, ORDER_STATUS_LOOKUP, (row) =>
      row.op === 'progress' ? [String(row.orderId), row.status] : undefined,
    )
    for (const [id, { stock, price }] of Object.entries(this.#setup.products)) {
      this.driver.setLookup(StockLookups.STOCK, id, stock)
      this.driver.setLookup(SagaLookups.PRODUCTS, id, { name: `product ${id}`, price })
    }
    for (const [id, points] of Object.entries(this.#setup.users))
      this.driver.setLookup(UserLookups.POINTS, id, points)
    for (const [id, use] of Object.entries(this.#setup.coupons))
      this.driver.setLookup(UserLookups.COUPONS, id, use)
  }

  order(
    orderId: number,
    userId: number,
    lines: ReadonlyArray<readonly [productId: number, quantity: number]>,
    extra: { finalAmount?: number; userCouponId?: number | null } = {},
  ): void {
    const value = {
      orderId,
      userId,
      finalAmount: extra.finalAmount ?? 100,
      userCouponId: extra.userCouponId ?? null,
      cartItems: lines.map(([productId, quantity]) => ({ productId, quantity })),
    }
    this.#orders.push({ key: String(orderId), value })
    this.driver.pipe(Topics.ORDER_CREATED, String(orderId), value)
  }

  process() {
    return this.driver.process()
  }

  statuses(): OrderStatusEvent[] {
    return this.driver.allOutputs<OrderStatusEvent>(Topics.ORDER_STATUS).map((r) => r.value)
  }

  /** Each order's outcome: `COMPLETED`, or `FAILED <reason>`. */
  outcomes(): Record<number, string> {
    return Object.fromEntries(
      this.statuses().map((s) => [s.orderId, s.status === 'FAILED' ? `FAILED ${s.reason}` : s.status]),
    )
  }

  stock(productId: number): number {
    return this.#committed<number>(StockStores.STOCK, productId) ?? this.#setup.products[productId]!.stock
  }

  points(userId: number): number {
    return this.#committed<number>(UserStores.POINTS, userId) ?? this.#setup.users[userId]!
  }

  coupon(userCouponId: number): CouponUse | undefined {
    return this.#committed<CouponUse>(UserStores.COUPONS, userCouponId) ?? this.#setup.coupons[userCouponId]
  }

  /** Restore events the saga published, as `<topic> <eventId> <amount or quantity>`. */
  restores(): string[] {
    const read = (topic: string) =>
      this.driver
        .allOutputs<{ eventId: string; amount?: number; quantity?: number }>(topic)
        .map((r) => `${topic} ${r.value.eventId} ${r.value.amount ?? r.value.quantity}`)
    return [...read(Topics.POINT_RESTORE), ...read(Topics.STOCK_RESTORE)]
  }

  /** Everything an observer can see: balances, stock, coupons, events, and the orders' rows. */
  snapshot() {
    const { products, users, coupons } = this.#setup
    return {
      stock: Object.keys(products).map((id) => this.stock(Number(id))),
      points: Object.keys(users).map((id) => this.points(Number(id))),
      coupons: Object.keys(coupons).map((id) => this.coupon(Number(id))),
      statuses: this.statuses(),
      restores: this.restores(),
      history: this.driver.table('point-history').length,
      outcomes: this.driver.table('restore-outcomes').length,
    }
  }

  /**
   * Every record the saga's topics carried so far, delivered once more, as a relay re-sending beyond
   * the de-duplication window (or another producer) would: without the output-id header.
   */
  redeliverEverything(): number {
    const topics = [
      Topics.ORDER_CREATED,
      Internal.STOCK_COMMANDS,
      Internal.USER_COMMANDS,
      Internal.SAGA_REPLIES,
      Topics.STOCK_RESTORE,
      Topics.POINT_RESTORE,
    ]
    let count = 0
    for (const topic of topics) {
      const records = topic === Topics.ORDER_CREATED ? this.#orders : this.driver.allOutputs(topic)
      for (const r of records) {
        this.driver.pipe(topic, r.key, r.value)
        count++
      }
    }
    return count
  }

  #committed<V>(store: string, key: number): V | undefined {
    return [0, 1, 2].map((p) => this.driver.store<V>(store, p).get(String(key))).find((v) => v !== undefined)
  }
}
