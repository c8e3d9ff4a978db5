import type { KafkaRecord, RecordsBatch } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { partitionRecords } from '../../topology/runtime/fetched-batches.ts'

const TRANSACTIONAL = 0x10
const CONTROL = 0x20

function record(offsetDelta: number, key: Buffer | null = Buffer.from('k')): KafkaRecord {
  return {
    length: 0,
    attributes: 0,
    timestampDelta: 0n,
    offsetDelta,
    key,
    value: Buffer.from('{}'),
    headers: [],
  }
}

/** A data batch of `count` records from `first`, by `producerId` (transactional when it is not -1). */
function data(first: number, count: number, producerId = -1n): RecordsBatch {
  return batch(
    first,
    Array.from({ length: count }, (_, i) => record(i)),
    producerId === -1n ? 0 : TRANSACTIONAL,
    producerId,
  )
}

/** A transaction marker: a control batch whose one record's key is (version 0, type). */
function marker(offset: number, producerId: bigint, type: 'ABORT' | 'COMMIT'): RecordsBatch {
  const key = Buffer.alloc(4)
  key.writeInt16BE(type === 'ABORT' ? 0 : 1, 2)
  return batch(offset, [record(0, key)], TRANSACTIONAL | CONTROL, producerId)
}

function batch(first: number, records: KafkaRecord[], attributes: number, producerId: bigint): RecordsBatch {
  return {
    firstOffset: BigInt(first),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: records.length - 1,
    firstTimestamp: 0n,
    maxTimestamp: 0n,
    producerId,
    producerEpoch: 0,
    firstSequence: 0,
    records,
  }
}

const offsets = (r: ReturnType<typeof partitionRecords>) => r.records.map((x) => Number(x.offset))

describe('partitionRecords', () => {
  it('should move the next offset past a commit marker at the end of the log (the marker that wedged a partition)', () => {
    const result = partitionRecords('t', 0, [data(0, 3, 7n), marker(3, 7n, 'COMMIT')], 0n)
    expect(offsets(result)).toEqual([0, 1, 2])
    expect(result.nextOffset).toBe(4n)
  })

  it('should move past a fetch that holds only a marker', () => {
    const result = partitionRecords('t', 0, [marker(3, 7n, 'COMMIT')], 3n)
    expect(result.records).toEqual([])
    expect(result.nextOffset).toBe(4n)
  })

  it('should keep the asked offset when the fetch returned nothing', () => {
    expect(partitionRecords('t', 0, [], 5n).nextOffset).toBe(5n)
  })

  it('should drop the records of an aborted transaction and keep the ones of other producers around it', () => {
    const batches = [data(0, 2, 7n), data(2, 1), data(3, 2, 7n), marker(5, 7n, 'ABORT'), data(6, 1, 7n)]
    const result = partitionRecords('t', 0, batches, 0n, [{ producerId: 7n, firstOffset: 0n }])
    expect(offsets(result)).toEqual([2, 6])
    expect(result.nextOffset).toBe(7n)
  })

  it('should drop an aborted transaction whose ABORT marker lies beyond this fetch', () => {
    // The response stopped (max bytes) before the marker; the next fetch lists the transaction again.
    const result = partitionRecords('t', 0, [data(0, 2, 7n), data(2, 2, 7n)], 0n, [
      { producerId: 7n, firstOffset: 0n },
    ])
    expect(result.records).toEqual([])
    expect(result.nextOffset).toBe(4n)
  })

  it('should keep a committed transaction of a producer that aborted an earlier one', () => {
    const batches = [data(0, 1, 7n), marker(1, 7n, 'ABORT'), data(2, 2, 7n), marker(4, 7n, 'COMMIT')]
    const result = partitionRecords('t', 0, batches, 0n, [{ producerId: 7n, firstOffset: 0n }])
    expect(offsets(result)).toEqual([2, 3])
    expect(result.nextOffset).toBe(5n)
  })

  it('should skip the records of a batch before the offset asked for', () => {
    const result = partitionRecords('t', 0, [data(0, 5)], 3n)
    expect(offsets(result)).toEqual([3, 4])
    expect(result.nextOffset).toBe(5n)
  })

  it('should count the wire size of every batch fetched, markers and skipped records included', () => {
    // A batch's `length` counts the bytes after its length field; firstOffset and length add 12.
    const batches = [
      { ...data(0, 5), length: 300 },
      { ...marker(5, 7n, 'COMMIT'), length: 61 },
    ]
    const result = partitionRecords('t', 0, batches, 3n)
    expect(offsets(result)).toEqual([3, 4])
    expect(result.fetchedBytes).toBe(312 + 73)
    expect(partitionRecords('t', 0, [], 5n).fetchedBytes).toBe(0)
  })
})
