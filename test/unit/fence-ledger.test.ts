import { describe, expect, it } from 'vitest'
import { FenceLedger } from '../../topology/runtime/fence-ledger.ts'

describe('FenceLedger', () => {
  it('should keep a fenced task out until a heartbeat sent after the fence is answered', () => {
    const ledger = new FenceLedger()
    ledger.heartbeatSent() // in flight before the fence: proves nothing about it
    ledger.fenced('p/1')
    expect(ledger.heartbeatAnswered()).toEqual([])
    expect(ledger.blocks('p/1')).toBe(true)
    expect(ledger.tasks()).toEqual(['p/1'])
    ledger.heartbeatSent()
    expect(ledger.heartbeatAnswered(), 'our generation is current: the task is ours').toEqual(['p/1'])
    expect(ledger.blocks('p/1')).toBe(false)
  })

  it('should keep a task out while heartbeats fail, and release it at the next group join', () => {
    const ledger = new FenceLedger()
    ledger.fenced('p/0')
    ledger.heartbeatSent() // answered with ILLEGAL_GENERATION: no heartbeatAnswered() follows
    expect(ledger.blocks('p/0')).toBe(true)
    ledger.joined()
    expect(ledger.blocks('p/0')).toBe(false)
    expect(ledger.tasks()).toEqual([])
  })
})
