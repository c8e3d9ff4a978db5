import { describe, expect, it } from 'vitest'
import type { SagaReply } from '../../processors/order-commands.ts'
import { ORDER_STATUS_LOOKUP } from '../../processors/restore-outcomes.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { Topics } from '../../processors/topics.ts'
import { type CouponUse, UserLookups, UserStores } from '../../processors/user-owner.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { failedOrders } from '../support/saga-driver.ts'

const COMMANDS = 'shop-user-commands'
const REPLIES = 'shop-saga-replies'
const NOW = Date.parse('2026-11-24T10:00:00Z')

function driver(
  points: Record<number, number> = { 1: 1000, 2: 500 },
  coupons: Record<number, CouponUse> = {},
) {
  const d = new TopologyTestDriver(shopTopology('shop'), { partitions: 3, startTime: NOW })
  for (const [userId, balance] of Object.entries(points)) d.setLookup(UserLookups.POINTS, userId, balance)
  for (const [id, use] of Object.entries(coupons)) d.setLookup(UserLookups.COUPONS, id, use)
  failedOrders(d)
  return d
}
const command = (d: TopologyTestDriver, value: { userId: number; kind: string } & Record<string, unknown>) =>
  d.pipe(COMMANDS, String(value.userId), value)
const deduct = (d: TopologyTestDriver, orderId: number, userId: number, amount: number) =>
  command(d, { kind: 'deduct-points', orderId, userId, amount })
const useCoupon = (d: TopologyTestDriver, orderId: number, userId: number, userCouponId: number) =>
  command(d, { kind: 'use-coupon', orderId, userId, userCouponId })
const replies = (d: TopologyTestDriver) => d.output<SagaReply>(REPLIES).map((r) => r.value)
const committed = <V>(d: TopologyTestDriver, store: string, key: string | number) =>
  [0, 1, 2].map((p) => d.store<V>(store, p).get(String(key))).find((v) => v !== undefined)
const history = (d: TopologyTestDriver) =>
  d
    .table<{ eventId: string; amount: number; balanceAfter: number }>('point-history')
    .map((r) => `${r.eventId} ${r.amount} -> ${r.balanceAfter}`)

describe('UserOwner', () => {
  it('should deduct points while the balance covers them, answer short otherwise, and unknown users not found', async () => {
    const d = driver()
    deduct(d, 1, 1, 700)
    deduct(d, 2, 1, 400)
    deduct(d, 3, 9, 1)
    await d.process()
    expect(replies(d)).toEqual([
      { kind: 'points-deducted', orderId: 1, userId: 1, amount: 700 },
      { kind: 'points-short', orderId: 2, userId: 1 },
      { kind: 'user-not-found', orderId: 3, userId: 9 },
    ])
    expect(committed(d, UserStores.POINTS, 1)).toBe(300)
    expect(history(d)).toEqual(['payment/1 700 -> 300'])
    expect(d.table('user-point-levels')).toEqual([{ userId: 1, points: 300 }])
  })

  it('should answer a deduct delivered twice the same way, paying once', async () => {
    const d = driver({ 1: 1000 })
    deduct(d, 1, 1, 600)
    deduct(d, 2, 1, 600)
    await d.process()
    deduct(d, 1, 1, 600)
    deduct(d, 2, 1, 600)
    d.restart()
    await d.process()
    expect(replies(d).map((r) => r.kind)).toEqual([
      'points-deducted',
      'points-short',
      'points-deducted',
      'points-short',
    ])
    expect(committed(d, UserStores.POINTS, 1)).toBe(400)
    expect(history(d)).toEqual(['payment/1 600 -> 400'])
  })

  it('should apply a charge once per chargeId, and never for an unknown user', async () => {
    const d = driver({ 1: 10 })
    command(d, { kind: 'charge', chargeId: 'c-1', userId: 1, amount: 90 })
    command(d, { kind: 'charge', chargeId: 'c-1', userId: 1, amount: 90 })
    command(d, { kind: 'charge', chargeId: 'c-2', userId: 7, amount: 5 })
    command(d, { kind: 'charge', chargeId: 'c-3', userId: 1, amount: Number.MAX_SAFE_INTEGER })
    await d.process()
    expect(committed(d, UserStores.POINTS, 1)).toBe(100)
    expect(history(d)).toEqual(['charge/c-1 90 -> 100'])
    expect(replies(d)).toEqual([]) // a charge answers nobody: the API answered 202
  })

  it('should use a coupon only for its owner and only once, answering why it refuses', async () => {
    const d = driver({ 1: 0, 2: 0 }, { 100: { userId: 1, orderId: null }, 200: { userId: 1, orderId: 50 } })
    useCoupon(d, 1, 2, 100) // not the owner
    useCoupon(d, 2, 1, 100) // used
    useCoupon(d, 3, 1, 100) // already used by order 2
    useCoupon(d, 4, 1, 200) // used before, by order 50
    useCoupon(d, 5, 1, 300) // no such coupon
    await d.process()
    // Users 1 and 2 live on different partitions: order the replies by order.
    expect(replies(d).sort((a, b) => a.orderId - b.orderId)).toEqual([
      { kind: 'coupon-unusable', orderId: 1, userCouponId: 100, reason: 'NOT_OWNER' },
      { kind: 'coupon-used', orderId: 2, userCouponId: 100 },
      { kind: 'coupon-unusable', orderId: 3, userCouponId: 100, reason: 'ALREADY_USED' },
      { kind: 'coupon-unusable', orderId: 4, userCouponId: 200, reason: 'ALREADY_USED' },
      { kind: 'coupon-unusable', orderId: 5, userCouponId: 300, reason: 'NOT_FOUND' },
    ])
    expect(d.table('user-coupon-states')).toEqual([
      { userCouponId: 100, orderId: 2, usedAt: new Date(NOW).toISOString() },
    ])
  })

  it('should pay and then use the coupon a deduct names, in one reply, each once', async () => {
    const d = driver({ 1: 1000 }, { 100: { userId: 1, orderId: null }, 200: { userId: 2, orderId: null } })
    const pay = (orderId: number, amount: number, userCouponId: number) =>
      command(d, { kind: 'deduct-points', orderId, userId: 1, amount, userCouponId })
    pay(1, 300, 100) // paid, coupon used
    pay(2, 300, 200) // paid, but the coupon is another user's: the payment stands, for the saga to restore
    pay(3, 900, 100) // short: the coupon is not even looked at
    await d.process()
    pay(1, 300, 100) // delivered again: the same reply, nothing paid or used twice
    pay(2, 300, 200)
    await d.process()
    const first = [
      { kind: 'coupon-used', orderId: 1, userCouponId: 100 },
      { kind: 'coupon-unusable', orderId: 2, userCouponId: 200, reason: 'NOT_OWNER' },
      { kind: 'points-short', orderId: 3, userId: 1 },
    ]
    expect(replies(d)).toEqual([...first, ...first.slice(0, 2)])
    expect(history(d)).toEqual(['payment/1 300 -> 700', 'payment/2 300 -> 400'])
    expect(committed(d, UserStores.POINTS, 1)).toBe(400)
    expect(d.table('user-coupon-states')).toEqual([
      { userCouponId: 100, orderId: 1, usedAt: new Date(NOW).toISOString() },
    ])
  })

  it('should un-use a coupon only for the order that used it, once per eventId', async () => {
    const d = driver({ 1: 0 }, { 100: { userId: 1, orderId: null } })
    useCoupon(d, 2, 1, 100)
    await d.process()
    const restore = (eventId: string, orderId: number) =>
      d.pipe(Topics.COUPON_RESTORE, '1', { eventId, orderId, userId: 1, userCouponId: 100 })
    restore('3/coupon', 3) // a late restore of an order that lost the coupon to order 2
    await d.process()
    expect(committed<CouponUse>(d, UserStores.COUPONS, 100)).toEqual({ userId: 1, orderId: 2 })
    restore('2/coupon', 2)
    restore('2/coupon', 2)
    await d.process()
    expect(committed<CouponUse>(d, UserStores.COUPONS, 100)).toEqual({ userId: 1, orderId: null })
    useCoupon(d, 4, 1, 100) // free again: another order may use it
    await d.process()
    expect(replies(d).at(-1)).toEqual({ kind: 'coupon-used', orderId: 4, userCouponId: 100 })
    expect(d.table<{ eventId: string; outcome: string }>('restore-outcomes').map((r) => r.outcome)).toEqual([
      'IGNORED: the coupon is not used by the order',
      'APPLIED',
    ])
  })

  it('should give back points once, and only what the order paid, whoever sends the restore', async () => {
    const d = driver({ 1: 1000 })
    deduct(d, 1, 1, 300)
    await d.process()
    const restore = (eventId: string, orderId: number, amount: number) =>
      d.pipe(Topics.POINT_RESTORE, '1', { eventId, orderId, userId: 1, amount })
    restore('ext-1', 9, 50) // order 9 paid nothing
    restore('ext-2', 1, 999) // order 1 paid 300
    restore('1/points', 1, 300)
    restore('1/points', 1, 300)
    restore('ext-3', 1, 300) // already given back
    await d.process()
    expect(committed(d, UserStores.POINTS, 1)).toBe(1000)
    expect(history(d)).toEqual(['payment/1 300 -> 700', 'restore/1/points 300 -> 1000'])
    expect(d.table<{ eventId: string; outcome: string }>('restore-outcomes').map((r) => r.eventId)).toEqual([
      'ext-1',
      'ext-2',
      '1/points',
      'ext-3',
    ])
  })

  it('should keep a payment and a used coupon when the restore names an order that completed', async () => {
    const d = driver({ 1: 1000 }, { 7000001: { userId: 1, orderId: null } })
    d.setLookup(ORDER_STATUS_LOOKUP, '20', 'COMPLETED')
    deduct(d, 20, 1, 300)
    d.pipe(COMMANDS, '1', { kind: 'use-coupon', orderId: 20, userId: 1, userCouponId: 7000001 })
    await d.process()
    d.pipe(Topics.POINT_RESTORE, '1', { eventId: '20/points', orderId: 20, userId: 1, amount: 300 })
    d.pipe(Topics.COUPON_RESTORE, '1', {
      eventId: '20/coupon',
      orderId: 20,
      userId: 1,
      userCouponId: 7000001,
    })
    await d.process()
    expect(committed(d, UserStores.POINTS, 1)).toBe(700)
    expect(d.table<{ outcome: string }>('restore-outcomes').map((r) => r.outcome)).toEqual([
      'IGNORED: the order is COMPLETED, not FAILED',
      'IGNORED: the order is COMPLETED, not FAILED',
    ])
  })

  it('should send mis-keyed and unknown commands to the DLQ with the cause', async () => {
    const d = driver()
    d.pipe(COMMANDS, '2', { kind: 'deduct-points', orderId: 1, userId: 1, amount: 1 }, { partition: 0 })
    command(d, { kind: 'refund', orderId: 1, userId: 1, amount: 1 })
    d.pipe(Topics.POINT_RESTORE, '1', { eventId: 'x', orderId: 1, userId: 1 })
    await d.process()
    expect(d.dlq(COMMANDS).map((r) => r.headers['error.code'])).toEqual(['KEY_MISMATCH', 'VALIDATION_FAILED'])
    expect(d.dlq(Topics.POINT_RESTORE).map((r) => r.headers['error.message'])).toEqual([
      'amount: is required',
    ])
    expect(replies(d)).toEqual([])
  })
})
