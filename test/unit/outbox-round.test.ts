import { MultipleErrors, NetworkError, ResponseError } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { permanentRefusal } from '../../topology/postgres/kafka-refusals.ts'
import { type OutboxRow, publishRound, type Send } from '../../topology/postgres/outbox-round.ts'
import { encodeHeaders } from '../../topology/runtime/header-codec.ts'

const PRODUCE = 0
const METADATA = 3

/** A produce failure as @platformatic/kafka reports it: send -> MultipleErrors -> ResponseError -> ProtocolError. */
const brokerSays = (code: number, api = PRODUCE) =>
  new MultipleErrors('Producing messages failed.', [
    new ResponseError(api, 11, { '/responses/0/partition_responses/0': [code, null] }, {}),
  ])

const row = (id: number, bytes = 100, headers = encodeHeaders({ seq: String(id) })): OutboxRow => ({
  id: String(id),
  topic: 't',
  key: Buffer.from('k'),
  value: Buffer.alloc(10),
  headers,
  created_ms: 0,
  bytes,
})

/** A broker stand-in: refuses any group holding a row in `poison` with `error`, records what it took. */
function broker(poison: Set<string>, error: () => Error) {
  const taken: string[][] = []
  const send: Send = async (group) => {
    if (group.some((g) => poison.has(g.row.id))) throw error()
    taken.push(group.map((g) => g.row.id))
  }
  return { send, taken }
}

describe('permanentRefusal', () => {
  it('should find the Kafka error code inside the client error tree', () => {
    expect(permanentRefusal(brokerSays(10))?.reason).toBe('MESSAGE_TOO_LARGE')
    expect(permanentRefusal(brokerSays(18))?.reason).toBe('RECORD_LIST_TOO_LARGE')
    expect(permanentRefusal(brokerSays(87))?.reason).toBe('INVALID_RECORD')
    expect(permanentRefusal(brokerSays(17, METADATA))?.reason).toBe('INVALID_TOPIC_EXCEPTION')
    expect(permanentRefusal(new MultipleErrors('produce failed 4 times.', [brokerSays(10)]))?.reason).toBe(
      'MESSAGE_TOO_LARGE',
    )
  })

  it('should call broker outages and leadership changes transient', () => {
    expect(permanentRefusal(brokerSays(6))).toBeUndefined() // NOT_LEADER_OR_FOLLOWER
    expect(permanentRefusal(brokerSays(7))).toBeUndefined() // REQUEST_TIMED_OUT
    expect(permanentRefusal(brokerSays(3))).toBeUndefined() // UNKNOWN_TOPIC_OR_PARTITION
    expect(permanentRefusal(new NetworkError('Connection closed'))).toBeUndefined()
    expect(permanentRefusal(new Error('MESSAGE_TOO_LARGE'))).toBeUndefined() // words are not codes
  })
})

describe('publishRound', () => {
  it('should isolate the refused record by halves, keeping the order of the others', async () => {
    const { send, taken } = broker(new Set(['5']), () => brokerSays(87))
    const outcome = await publishRound(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => row(n)),
      1_048_588,
      send,
    )
    expect(taken.flat()).toEqual(['1', '2', '3', '4', '6', '7', '8'])
    expect(outcome.published.map((r) => r.id)).toEqual(['1', '2', '3', '4', '6', '7', '8'])
    expect(outcome.rejected.map((r) => [r.row.id, r.reason])).toEqual([['5', 'INVALID_RECORD']])
    expect(outcome.error).toBeUndefined()
  })

  it('should move a record alone over the limit aside without asking the broker', async () => {
    const { send, taken } = broker(new Set(), () => new Error('unused'))
    const outcome = await publishRound([row(1, 2_000_000), row(2)], 1_048_588, send)
    expect(taken).toEqual([['2']])
    expect(outcome.rejected).toEqual([
      expect.objectContaining({ reason: 'MESSAGE_TOO_LARGE', cause: expect.stringContaining('1048588') }),
    ])
  })

  it('should move aside a row whose headers cannot be decoded', async () => {
    const { send, taken } = broker(new Set(), () => new Error('unused'))
    const outcome = await publishRound([row(1, 100, Buffer.from([0, 0, 0, 9, 1])), row(2)], 1_048_588, send)
    expect(taken).toEqual([['2']])
    expect(outcome.rejected.map((r) => r.reason)).toEqual(['UNREADABLE_HEADERS'])
  })

  it('should stop at a transient error, keeping what was settled before it and rejecting nothing', async () => {
    const outage = new NetworkError('Connection closed')
    let calls = 0
    const send: Send = async (group) => {
      calls++
      if (calls === 1) throw brokerSays(10) // the whole round: split
      if (group.some((g) => g.row.id === '3')) throw outage // then the broker goes away
    }
    const outcome = await publishRound(
      [1, 2, 3, 4].map((n) => row(n)),
      1_048_588,
      send,
    )
    expect(outcome.error).toBe(outage)
    expect(outcome.rejected).toEqual([])
    // The first half went out before the outage: it is settled (deleted), the rest waits for a retry.
    expect(outcome.published.map((r) => r.id)).toEqual(['1', '2'])
  })
})
