import { describe, expect, it } from 'vitest'
import type { RawRecord } from '../../topology/record.ts'
import type { FetchedPartition } from '../../topology/runtime/fetcher.ts'
import { arrivalOf, openLedger, queuedBytes, resetOf, settle } from '../../topology/runtime/task-ledger.ts'

function record(offset: number): RawRecord {
  const value = Buffer.from(`v${offset}`)
  return {
    topic: 'in',
    partition: 0,
    offset: BigInt(offset),
    key: Buffer.from('k'),
    value,
    timestamp: 0,
    headers: {},
  }
}

function fetched(from: number, to: number, nextOffset = to): FetchedPartition {
  const records = Array.from({ length: to - from }, (_, i) => record(from + i))
  return {
    topic: 'in',
    partition: 0,
    records,
    nextOffset: BigInt(nextOffset),
    fetchedBytes: records.length * 60,
    highWatermark: BigInt(nextOffset),
    logStartOffset: 0n,
    errorCode: 0,
  }
}

describe('task ledger', () => {
  it('should hold what arrived and let go of what committed, bytes included', () => {
    let ledger = openLedger(new Map([['in', 0n]]))
    const first = arrivalOf(fetched(0, 3), ledger)!
    ledger = settle(ledger, { kind: 'arrived', arrival: first })
    ledger = settle(ledger, { kind: 'arrived', arrival: arrivalOf(fetched(3, 5), ledger)! })
    expect(ledger.held.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n])
    expect(ledger.bytes).toBe(ledger.held.reduce((n, r) => n + queuedBytes(r), 0))
    ledger = settle(ledger, { kind: 'committed', batch: { records: first.records, advance: new Map() } })
    expect(ledger.held.map((r) => r.offset)).toEqual([3n, 4n])
    expect(ledger.bytes).toBe(queuedBytes(record(3)) + queuedBytes(record(4)))
    expect(ledger.from.get('in')).toBe(5n)
  })

  it('should drop records of a re-fetch it already holds, and move past a transaction marker', () => {
    let ledger = settle(openLedger(new Map([['in', 0n]])), {
      kind: 'arrived',
      arrival: arrivalOf(fetched(0, 5), openLedger(new Map([['in', 0n]])))!,
    })
    const again = arrivalOf(fetched(3, 7, 8), ledger)!
    expect(again.records.map((r) => r.offset)).toEqual([5n, 6n])
    expect(again.next).toBe(8n)
    ledger = settle(ledger, { kind: 'arrived', arrival: again })
    // Nothing new and no move: nothing arrives. A marker alone moves the position.
    expect(arrivalOf(fetched(8, 8), ledger)).toBeUndefined()
    expect(arrivalOf(fetched(8, 8, 9), ledger)).toEqual({ topic: 'in', records: [], next: 9n })
  })

  it('should move forward on a reset, never back, and ignore topics the task does not read', () => {
    const ledger = openLedger(new Map([['in', 5n]]))
    expect(resetOf('in', 12n, ledger)).toEqual({ topic: 'in', records: [], next: 12n })
    expect(resetOf('in', 3n, ledger)).toBeUndefined()
    expect(resetOf('other', 12n, ledger)).toBeUndefined()
    expect(arrivalOf({ ...fetched(0, 2), topic: 'other' }, ledger)).toBeUndefined()
  })
})
