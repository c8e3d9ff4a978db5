import { describe, expect, it } from 'vitest'
import type { Placed } from '../../scripts/bench/coupons/sale.ts'
import { firstCopies } from '../../scripts/bench/edge/verify.ts'
import { parseAnswers, parseWrkResult, tally } from '../../scripts/bench/edge/wrk.ts'

// What wrk printed for a run of edge.lua (its summary, then the line its done() writes).
const output = `Running 1s test @ http://127.0.0.1:18078/
  2 threads and 20 connections
  15151 requests in 2.02s, 3.21MB read
Requests/sec:   7507.79
EDGE_RESULT {"requests":8061,"durationUs":1099935,"bytes":1799105,"errors":{"connect":0,"read":1,"write":0,"status":1289,"timeout":2},"latencyUs":{"mean":3504.3,"max":61471,"p50":2156,"p90":5794,"p99":36887,"p999":58736},"statuses":{"503 OVERLOADED":161,"202":5529,"200":1243,"409":1128}}
`

describe('bench:edge reading wrk', () => {
  it('should read the result line of edge.lua, latencies in milliseconds', () => {
    const r = parseWrkResult(output)
    expect(r.requests).toBe(8061)
    expect(r.seconds).toBeCloseTo(1.099935)
    expect(r.errors).toEqual({ connect: 0, read: 1, write: 0, status: 1289, timeout: 2 })
    expect(r.latencyMs.p50).toBeCloseTo(2.156)
    expect(r.latencyMs.p99).toBeCloseTo(36.887)
    expect(r.statuses['503 OVERLOADED']).toBe(161)
  })

  it('should fail, showing the output, when wrk printed no result line (the script failed)', () => {
    expect(() => parseWrkResult('PANIC: unprotected error in call to Lua API')).toThrow(
      /no EDGE_RESULT line:\nPANIC/,
    )
  })

  it('should fail when the responses by status do not add up to the responses wrk counted', () => {
    const short = output.replace('"409":1128', '"409":1127')
    expect(() => parseWrkResult(short)).toThrow(/wrk counted 8061 responses, edge.lua 8060 by status/)
  })

  it('should count only 2xx as accepted, a 503 OVERLOADED as a server error, and name the unexpected', () => {
    const t = tally(parseWrkResult(output), ['200', '202', '409'])
    expect(t.ok).toBe(5529 + 1243)
    expect(t.okPerSecond).toBeCloseTo((5529 + 1243) / 1.099935)
    expect(t.serverErrors).toBe(161)
    expect(t.unexpected).toEqual({ '503 OVERLOADED': 161 })
  })

  it('should read the answers file: a 202 as PENDING, a 200 as its decision', () => {
    expect(parseAnswers('a-1 PENDING\nb-2 ISSUED\n')).toEqual(
      new Map([
        ['a-1', 'PENDING'],
        ['b-2', 'ISSUED'],
      ]),
    )
    expect(() => parseAnswers('a-1\n')).toThrow(/malformed answer line: a-1/)
  })

  it('should keep the first copy of a request the relay published twice, as the processor applies one', () => {
    const r = (requestId: string, partition: number): Placed => ({
      requestId,
      userId: 1,
      couponId: 1,
      partition,
    })
    expect(firstCopies([[r('a', 0), r('b', 0), r('a', 0)], [r('c', 1)]])).toEqual([
      [r('a', 0), r('b', 0)],
      [r('c', 1)],
    ])
  })
})
