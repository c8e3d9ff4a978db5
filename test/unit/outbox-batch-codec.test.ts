import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BatchDecodeError, decodeBatch, encodeBatch } from '../../topology/postgres/outbox-batch-codec.ts'
import type { OutboxRecord } from '../../topology/runtime/backend.ts'
import { encodeHeaders } from '../../topology/runtime/header-codec.ts'

const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))
const record: fc.Arbitrary<OutboxRecord> = fc.record({
  topic: fc.constantFrom('a', 'results', 'commands.dlq', 'é-topic'),
  key: fc.option(bytes, { nil: null }),
  value: bytes,
  headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }),
})

/** What the relay reads back for a record: its headers in the outbox's header encoding. */
const asStored = (r: OutboxRecord) => ({
  topic: r.topic,
  key: r.key,
  value: r.value,
  headers: encodeHeaders(r.headers),
})

describe('outbox batch codec', () => {
  it('should give back every record of a batch byte for byte, in order (null and empty keys, any bytes)', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) => {
        expect(decodeBatch(encodeBatch(records))).toEqual(records.map(asStored))
      }),
    )
  })

  it('should tell a null key from an empty one', () => {
    const decoded = decodeBatch(
      encodeBatch([
        { topic: 't', key: null, value: Buffer.from('x'), headers: {} },
        { topic: 't', key: Buffer.alloc(0), value: Buffer.alloc(0), headers: {} },
      ]),
    )
    expect(decoded.map((r) => r.key)).toEqual([null, Buffer.alloc(0)])
  })

  it('should refuse bytes it did not write rather than invent records', () => {
    const good = encodeBatch([
      { topic: 't', key: Buffer.from('k'), value: Buffer.from('value'), headers: { a: 'b' } },
    ])
    expect(() => decodeBatch(good.subarray(0, good.length - 1))).toThrow(BatchDecodeError)
    expect(() => decodeBatch(Buffer.from([2, 0, 0]))).toThrow(/version 2/)
    expect(() => decodeBatch(Buffer.from('{"not":"a batch"}'))).toThrow(BatchDecodeError)
    const badTopic = Buffer.from(good)
    badTopic.writeUInt16BE(7, 6) // the first record's topic index, past the one topic
    expect(() => decodeBatch(badTopic)).toThrow(/topic index 7/)
  })
})
