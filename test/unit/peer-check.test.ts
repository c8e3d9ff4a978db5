import { describe, expect, it } from 'vitest'
import {
  type Collected,
  checkResults,
  type ExpectedOutcomes,
  type PeerResult,
} from '../../scripts/bench/peer/results.ts'

// A sale of coupon 1 with 2 units: users 1, 2, 3 ask in that order, user 1 asks again.
const expected: ExpectedOutcomes = {
  outcomes: new Map([
    ['r1', 'ISSUED'],
    ['r2', 'ISSUED'],
    ['r3', 'SOLD_OUT'],
    ['r4', 'ALREADY_ISSUED'],
  ]),
  requesters: new Map([[1, 3]]),
}
const issued = (requestId: string, userId: number, ordinal: number): PeerResult => ({
  requestId,
  userId,
  couponId: 1,
  status: 'ISSUED',
  userCouponId: 1_000_000 + ordinal,
})
const rejected = (requestId: string, userId: number, reason: string): PeerResult => ({
  requestId,
  userId,
  couponId: 1,
  status: 'REJECTED',
  reason,
})
const right = [
  issued('r1', 1, 1),
  issued('r2', 2, 2),
  rejected('r3', 3, 'SOLD_OUT'),
  rejected('r4', 1, 'ALREADY_ISSUED'),
]
const collected = (results: PeerResult[], records = results.length): Collected => ({
  results: new Map(results.map((r) => [r.requestId, r])),
  records,
  doneAt: 0,
})

describe('the peer benchmark check', () => {
  it('passes the first-come-first-served results', () => {
    const check = checkResults(collected(right), expected, 2, true)
    expect(check).toMatchObject({
      ok: true,
      missing: 0,
      wrong: 0,
      unknown: 0,
      duplicates: 0,
      doubleIssued: 0,
    })
    expect(check.issued).toEqual([{ couponId: 1, issued: 2, expected: 2 }])
  })

  it('fails a peer that sells one unit too many', () => {
    const results = [...right.slice(0, 2), issued('r3', 3, 3), right[3]!]
    const check = checkResults(collected(results), expected, 2, true)
    expect(check.ok).toBe(false)
    expect(check.wrong).toBe(1)
    expect(check.issued).toEqual([{ couponId: 1, issued: 3, expected: 2 }])
    expect(check.examples.join('\n')).toContain('r3 (user 3, coupon 1): ISSUED, expected SOLD_OUT')
  })

  it('fails a missing result, a result nobody asked for, and one coupon issued to a user twice', () => {
    expect(checkResults(collected(right.slice(0, 3)), expected, 2, true)).toMatchObject({
      ok: false,
      missing: 1,
    })
    expect(
      checkResults(collected([...right, rejected('r9', 9, 'SOLD_OUT')]), expected, 2, true),
    ).toMatchObject({
      ok: false,
      unknown: 1,
    })
    const twice = [...right.slice(0, 3), issued('r4', 1, 3)]
    expect(checkResults(collected(twice), expected, 3, true)).toMatchObject({ ok: false, doubleIssued: 1 })
  })

  it('accepts a repeated result under at-least-once only', () => {
    expect(checkResults(collected(right, 5), expected, 2, false)).toMatchObject({ ok: true, duplicates: 1 })
    expect(checkResults(collected(right, 5), expected, 2, true)).toMatchObject({ ok: false, duplicates: 1 })
  })
})
