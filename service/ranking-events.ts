/**
 * Reads the ranking projector's records: status events (a malformed one goes to
 * `order-status-topic.dlq`, since the projector is that topic's only reader) and restore events
 * (counted only; a malformed one is its owner's to send to the DLQ, so it is passed over here).
 */
import type { Message } from '@platformatic/kafka'
import {
  OrderStatusEvent,
  parseCouponRestore,
  parsePointRestore,
  parseStockRestore,
} from '../processors/order-messages.ts'
import type { TopicNames } from '../processors/topics.ts'
import { RecordError } from '../topology/errors.ts'
import type { OutboxRecord } from '../topology/runtime/backend.ts'
import { deadLetter } from '../topology/runtime/outputs.ts'
import { jsonSchemaValue } from '../topology/schema.ts'
import type { CompensationKind } from './business-metrics.ts'

export interface ProjectorBatch {
  statuses: OrderStatusEvent[]
  restores: Array<{ kind: CompensationKind; eventId: string }>
  deadLetters: OutboxRecord[]
}

const parseStatusValue = jsonSchemaValue(OrderStatusEvent)

function parseStatus(value: Buffer | null, key: string | null): OrderStatusEvent {
  const event = parseStatusValue(value, key)
  // Keyed by orderId (CONTRACT.md 1): a record keyed otherwise was not written by the saga.
  if (key !== String(event.orderId))
    throw new RecordError('KEY_MISMATCH', `key: "${key}" must be the orderId "${event.orderId}"`)
  return event
}

export function readBatch(
  messages: readonly Message[],
  topics: TopicNames,
  ids: { applicationId: string; outputIdHeader: string },
): ProjectorBatch {
  const restoreParsers = new Map<
    string,
    [CompensationKind, (v: Buffer | null, k: string | null) => { eventId: string }]
  >([
    [topics.STOCK_RESTORE, ['stock', parseStockRestore]],
    [topics.POINT_RESTORE, ['points', parsePointRestore]],
    [topics.COUPON_RESTORE, ['coupon', parseCouponRestore]],
  ])
  const batch: ProjectorBatch = { statuses: [], restores: [], deadLetters: [] }
  for (const message of messages) {
    const key = message.key && message.key.length > 0 ? message.key.toString() : null
    const value = message.value && message.value.length > 0 ? message.value : null
    if (message.topic === topics.ORDER_STATUS) {
      try {
        batch.statuses.push(parseStatus(value, key))
      } catch (error) {
        if (!(error instanceof RecordError)) throw error
        batch.deadLetters.push(deadLetter(ids, rawOf(message, key, value), error.code, error.message))
      }
      continue
    }
    const restore = restoreParsers.get(message.topic)
    if (!restore) continue
    try {
      batch.restores.push({ kind: restore[0], eventId: restore[1](value, key).eventId })
    } catch (error) {
      if (!(error instanceof RecordError)) throw error
    }
  }
  return batch
}

function rawOf(message: Message, key: string | null, value: Buffer | null) {
  const headers: Record<string, string> = {}
  for (const [k, v] of message.headers) if (k) headers[k.toString()] = v?.toString() ?? ''
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: key === null ? null : Buffer.from(key),
    value,
    timestamp: Number(message.timestamp),
    headers,
  }
}
