import type { Message } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { topicNames } from '../../processors/topics.ts'
import { readBatch } from '../../service/ranking-events.ts'

const topics = topicNames('t.')
const ids = { applicationId: 'app-ranking', outputIdHeader: 'commerce.output-id' }

function message(topic: string, key: string, value: string, offset = 0n): Message {
  return {
    topic,
    partition: 1,
    offset,
    key: Buffer.from(key),
    value: Buffer.from(value),
    timestamp: 1_000n,
    headers: new Map([[Buffer.from('commerce.output-id'), Buffer.from('x/1')]]),
  } as unknown as Message
}

describe('the ranking projector reading a batch', () => {
  it('should read status and restore events, with each restore kind from its topic', () => {
    const batch = readBatch(
      [
        message(
          topics.ORDER_STATUS,
          '7',
          '{"orderId":7,"userId":1,"status":"COMPLETED","completedAt":"2030-05-20T00:00:00Z"}',
        ),
        message(
          topics.ORDER_STATUS,
          '8',
          '{"orderId":8,"userId":1,"status":"FAILED","reason":"INSUFFICIENT_POINTS","failedAt":"x"}',
        ),
        message(topics.STOCK_RESTORE, '3', '{"eventId":"8/stock/3","orderId":8,"productId":3,"quantity":1}'),
        message(topics.POINT_RESTORE, '1', '{"eventId":"8/points","orderId":8,"userId":1,"amount":10}'),
        message(topics.COUPON_RESTORE, '1', '{"eventId":"8/coupon","orderId":8,"userId":1,"userCouponId":4}'),
      ],
      topics,
      ids,
    )
    expect(batch.statuses.map((s) => [s.orderId, s.status])).toEqual([
      [7, 'COMPLETED'],
      [8, 'FAILED'],
    ])
    expect(batch.restores).toEqual([
      { kind: 'stock', eventId: '8/stock/3' },
      { kind: 'points', eventId: '8/points' },
      { kind: 'coupon', eventId: '8/coupon' },
    ])
    expect(batch.deadLetters).toEqual([])
  })

  it('should send a malformed or mis-keyed status event to order-status-topic.dlq with its cause, bytes unchanged', () => {
    const batch = readBatch(
      [
        message(topics.ORDER_STATUS, '7', 'not json', 5n),
        message(
          topics.ORDER_STATUS,
          '9',
          '{"orderId":7,"userId":1,"status":"COMPLETED","completedAt":"x"}',
          6n,
        ),
        message(topics.ORDER_STATUS, '7', '{"orderId":7,"userId":1,"status":"LOST"}', 7n),
      ],
      topics,
      ids,
    )
    expect(batch.statuses).toEqual([])
    expect(
      batch.deadLetters.map((d) => [d.topic, d.headers['error.code'], d.headers['original.offset']]),
    ).toEqual([
      [`${topics.ORDER_STATUS}.dlq`, 'DESERIALIZATION_FAILED', '5'],
      [`${topics.ORDER_STATUS}.dlq`, 'KEY_MISMATCH', '6'],
      [`${topics.ORDER_STATUS}.dlq`, 'VALIDATION_FAILED', '7'],
    ])
    expect(batch.deadLetters[0]!.value?.toString()).toBe('not json')
    expect(batch.deadLetters[1]!.headers['commerce.output-id']).toBe(
      `app-ranking/${topics.ORDER_STATUS}/1/6/dlq`,
    )
  })

  it('should pass over a malformed restore event: its owner sends it to the DLQ, not the projector too', () => {
    const batch = readBatch([message(topics.POINT_RESTORE, '1', '{"eventId":""}')], topics, ids)
    expect(batch).toEqual({ statuses: [], restores: [], deadLetters: [] })
  })
})
