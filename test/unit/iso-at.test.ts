import { describe, expect, it } from 'vitest'
import { isoAt } from '../../processors/fields.ts'

describe('isoAt', () => {
  it('should write what toISOString writes, whatever the order instants are asked in', () => {
    const base = Date.UTC(2026, 11, 2, 19, 30)
    const asked = [base, base + 1, base, base + 1, base + 2, base, base + 2, base + 2, 0, -1, base, 8.64e15]
    expect(asked.map(isoAt)).toEqual(asked.map((ms) => new Date(ms).toISOString()))
  })

  it('should refuse an instant that is no date, as Date does', () => {
    expect(() => isoAt(Number.NaN)).toThrow(RangeError)
    expect(() => isoAt(8.64e15 + 1)).toThrow(RangeError)
  })
})
