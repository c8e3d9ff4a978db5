/**
 * The saga alone, on plain in-memory stores, one record at a time: what it sends at each step boundary,
 * and that every message delivered again there changes nothing.
 */
import { describe, expect, it } from 'vitest'
import type { OrderCreatedInput, SagaReply } from '../../processors/order-commands.ts'
import { OrderSaga, SagaSinks } from '../../processors/order-saga.ts'
import type { KeyValueStore, ProcessorContext } from '../../topology/api.ts'
import type { StreamContext } from '../../topology/dsl/index.ts'
import { StreamRecord } from '../../topology/record.ts'
import { NOW } from '../support/saga-driver.ts'

describe('OrderSaga, record by record', () => {
  const unusable: SagaReply = {
    kind: 'coupon-unusable',
    orderId: 1,
    userCouponId: 100,
    reason: 'ALREADY_USED',
  }
  const compensation = [
    // Newest first: the points, then the stock; then the one status event.
    `${SagaSinks.POINT_RESTORES} 1/points 250`,
    `${SagaSinks.STOCK_RESTORES} 1/stock/10 2`,
    `${SagaSinks.STOCK_RESTORES} 1/stock/11 1`,
    `${SagaSinks.STATUS} 1/status`,
  ]
  it.each([
    {
      // The chain reserved every line and paid; the user owner answers the coupon in the same reply.
      path: 'the coupon answered with the payment',
      replies: [unusable],
      steps: [compensation],
    },
    {
      // A payment answered without its coupon (an owner that answers only the payment): a step of its own.
      path: 'the coupon asked for on its own',
      replies: [{ kind: 'points-deducted', orderId: 1, userId: 1, amount: 250 } as SagaReply, unusable],
      steps: [[`${SagaSinks.USER_COMMANDS} 1/use-coupon`], compensation],
    },
    {
      // The chain stopped at 11's owner: 10 was reserved by the owner before, 11 was short.
      path: 'a stock owner short of a line',
      replies: [
        {
          kind: 'stock-answered',
          orderId: 1,
          answers: [
            { productId: 10, state: 'RESERVED', quantity: 2 },
            { productId: 11, state: 'SHORT', reason: 'INSUFFICIENT_STOCK' },
          ],
        } as SagaReply,
      ],
      steps: [[`${SagaSinks.STOCK_RESTORES} 1/stock/10 2`, `${SagaSinks.STATUS} 1/status`]],
    },
  ])(
    'should ignore every message delivered twice at every step boundary, and compensate newest first ($path)',
    ({ replies, steps: expected }) => {
      const { saga, deliver, emitted } = recordingSaga()
      const order: OrderCreatedInput = {
        kind: 'order-created',
        orderId: 1,
        userId: 1,
        userCouponId: 100,
        finalAmount: 250,
        cartItems: [
          { productId: 10, quantity: 2 },
          { productId: 11, quantity: 1 },
        ],
      }
      const steps: string[][] = []
      deliver(saga, order)
      steps.push(emitted.splice(0))
      for (const [i, reply] of replies.entries()) {
        // At each boundary: the awaited reply twice, then every earlier message and the order again.
        deliver(saga, reply)
        steps.push(emitted.splice(0))
        for (const again of [reply, ...replies.slice(0, i), order]) deliver(saga, again)
        expect(emitted.splice(0)).toEqual([])
      }
      // One chain for both products (each a group of its own: partitions unknown).
      expect(steps).toEqual([[`${SagaSinks.STOCK_COMMANDS} 1/reserve/10`], ...expected])
    },
  )

  it('should take each line’s first answer, from whichever replies cover it, before going on', () => {
    // The answers of reserves without a chain, as an earlier version sent them (one per partition, and
    // an owner forwarding lines it does not own to theirs, each answering its own): still understood,
    // so orders in flight across an upgrade end as before.
    const { saga, deliver, emitted } = recordingSaga(() => 0)
    const cartItems = [10, 11, 12].map((productId) => ({ productId, quantity: 1 }))
    deliver(saga, {
      kind: 'order-created',
      orderId: 1,
      userId: 1,
      userCouponId: null,
      finalAmount: 5,
      cartItems,
    })
    expect(emitted.splice(0)).toEqual([`${SagaSinks.STOCK_COMMANDS} 1/reserve/10`])
    const answered = (...answers: Array<[number, 'RESERVED' | 'SHORT']>): SagaReply => ({
      kind: 'stock-answered',
      orderId: 1,
      answers: answers.map(([productId, state]) =>
        state === 'RESERVED'
          ? { productId, state, quantity: 1 }
          : { productId, state, reason: 'INSUFFICIENT_STOCK' },
      ),
    })
    deliver(saga, answered([10, 'RESERVED']))
    deliver(saga, answered([99, 'RESERVED'])) // not a line of the order
    deliver(saga, answered([10, 'SHORT'], [11, 'RESERVED'])) // 10 keeps its first answer
    expect(emitted.splice(0)).toEqual([])
    deliver(saga, answered([12, 'RESERVED']))
    expect(emitted.splice(0)).toEqual([`${SagaSinks.USER_COMMANDS} 1/deduct-points`])
  })
})

/**
 * An OrderSaga on plain in-memory stores, recording what it emits (sink and output id) in order; the
 * stock commands' partitions are `partitionFor`'s (default: unknown, so one reserve per product).
 */
function recordingSaga(partitionFor: (sink: string, key: string) => number | undefined = () => undefined) {
  const stores = new Map<string, Map<string, unknown>>()
  const emitted: string[] = []
  const store = (name: string) => {
    const map = stores.get(name) ?? new Map<string, unknown>()
    stores.set(name, map)
    return Object.assign(map, { put: map.set.bind(map) }) as unknown as KeyValueStore<unknown>
  }
  const ctx = {
    applicationId: 'shop',
    partition: 0,
    now: () => NOW,
    store,
    // A restore event with what it gives back: the quantities the saga inferred are part of the check.
    emit: (sink: string, record: { id?: string; value: { quantity?: number; amount?: number } }) => {
      const given = record.value.quantity ?? record.value.amount
      emitted.push(`${sink} ${record.id}${sink.endsWith('restores') ? ` ${given}` : ''}`)
    },
    partitionFor,
    lookup: () => ({ get: () => ({ name: 'p', price: 1 }) }),
    write: () => {},
    forward: () => {},
  } as unknown as StreamContext<never> & ProcessorContext
  let offset = 0n
  const deliver = (saga: OrderSaga, value: OrderCreatedInput | SagaReply) =>
    saga.process(
      new StreamRecord({ topic: 't', partition: 0, offset: offset++, key: '1', value, timestamp: NOW }),
      ctx,
    )
  return { saga: new OrderSaga(), deliver, emitted }
}
