import { describe, expect, it } from 'vitest'
import { FenceLedger } from '../../topology/runtime/fence-ledger.ts'

describe('FenceLedger', () => {
  it('should keep a task fenced under the assignment it was claimed from until the next join', () => {
    const ledger = new FenceLedger()
    ledger.joined()
    ledger.fenced('p/0', ledger.joins)
    ledger.heartbeatSent()
    expect(ledger.heartbeatAnswered(), 'a heartbeat does not make the old assignment new').toEqual([])
    expect(ledger.blocks('p/0')).toBe(true)
    expect(ledger.tasks()).toEqual(['p/0'])
    ledger.joined()
    expect(ledger.blocks('p/0')).toBe(false)
  })

  it('should release a task claimed before the latest join once a heartbeat sent after its fence is answered', () => {
    const ledger = new FenceLedger()
    ledger.joined()
    const claimedIn = ledger.joins
    ledger.joined() // the runner was kept across this rebalance
    ledger.heartbeatSent() // in flight before the fence: proves nothing about it
    ledger.fenced('p/1', claimedIn)
    expect(ledger.heartbeatAnswered()).toEqual([])
    expect(ledger.blocks('p/1')).toBe(true)
    ledger.heartbeatSent()
    expect(ledger.heartbeatAnswered()).toEqual(['p/1'])
    expect(ledger.blocks('p/1')).toBe(false)
  })
})
