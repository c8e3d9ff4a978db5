import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { AppliedWindow } from '../../topology/runtime/applied-window.ts'

/** A digest as the task keeps it: 32 bytes as a one-byte string. */
const digest = (i: number) => createHash('sha256').update(`app/in/0/${i}/0`).digest('binary')

describe('AppliedWindow', () => {
  it("should forget a topic's ids before the window start, and only that topic's", () => {
    const window = new AppliedWindow()
    for (let i = 0; i < 10; i++) window.add('a', digest(i), i)
    window.add('b', digest(100), 0)
    window.forget('a', 4)
    expect([0, 3].map((i) => window.has(digest(i)))).toEqual([false, false])
    expect([4, 9].map((i) => window.has(digest(i)))).toEqual([true, true])
    expect(window.has(digest(100)), 'another topic keeps its own window').toBe(true)
    expect(window.size).toBe(7)
  })

  it('should keep an id applied again after it was forgotten when its first entry goes', () => {
    const window = new AppliedWindow()
    window.add('a', digest(1), 0)
    window.forget('a', 1)
    window.add('b', digest(1), 0) // forgotten on 'a', applied again on 'b'
    window.add('a', digest(2), 5)
    window.forget('a', 6)
    expect(window.has(digest(1))).toBe(true)
    expect(window.has(digest(2))).toBe(false)
  })

  it('should hold a full 20,000-id window in under 250 bytes of heap per id, sliding included', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const n = 20_000
    // Offsets past 2^31, as a long-lived partition has: they are heap numbers, not small integers.
    const base = 3_000_000_000
    gc()
    const before = process.memoryUsage().heapUsed
    const window = new AppliedWindow()
    for (let i = 0; i < n; i++) window.add('t', digest(i), base + i)
    gc()
    const full = process.memoryUsage().heapUsed - before
    // The steady state of a busy partition: every new id pushes the oldest out.
    for (let i = n; i < 3 * n; i++) {
      window.add('t', digest(i), base + i)
      window.forget('t', base + i - n + 1)
    }
    gc()
    const sliding = process.memoryUsage().heapUsed - before
    expect(window.size).toBe(n)
    const perId = Math.max(full, sliding) / n
    console.log(`AppliedWindow: ${(full / n).toFixed(0)} B/id full, ${(sliding / n).toFixed(0)} B/id sliding`)
    expect(perId).toBeLessThan(250)
  })
})
