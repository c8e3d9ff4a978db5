import { describe, expect, it } from 'vitest'
import { CommerceError, describeError, ErrorCodes, isCommerceError } from '../../service/errors.ts'

describe('error catalogue', () => {
  it('should document every code with a summary', () => {
    for (const [code, entry] of Object.entries(ErrorCodes)) {
      expect(code).toMatch(/^[A-Z_]+$/)
      expect(entry.summary.length, code).toBeGreaterThan(10)
    }
  })

  it('should carry the code, retriability and cause', () => {
    const cause = new Error('ECONNREFUSED')
    const error = new CommerceError('DEPENDENCY_UNAVAILABLE', 'postgres down', { cause })
    expect(error.retriable).toBe(true)
    expect(error.cause).toBe(cause)
    expect(isCommerceError(error, 'DEPENDENCY_UNAVAILABLE')).toBe(true)
    expect(isCommerceError(error, 'CONFIG_INVALID')).toBe(false)
    expect(new CommerceError('CONFIG_INVALID', 'x').retriable).toBe(false)
  })

  it('describeError should follow causes so library errors keep their reason', () => {
    const inner = new Error('Connection to 127.0.0.1:9092 failed.')
    const outer = new Error('Listing topics failed.', {
      cause: new Error('Cannot connect to any broker.', { cause: inner }),
    })
    expect(describeError(outer)).toBe(
      'Listing topics failed.: Cannot connect to any broker.: Connection to 127.0.0.1:9092 failed.',
    )
    expect(describeError('plain')).toBe('plain')
  })
})

describe('isUnavailable', () => {
  it('should recognise a dependency that does not answer, through causes, and nothing else', async () => {
    const { isUnavailable } = await import('../../service/errors.ts')
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
    expect(isUnavailable(refused)).toBe(true)
    expect(isUnavailable(new Error('query failed', { cause: refused }))).toBe(true)
    expect(isUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true)
    expect(isUnavailable(Object.assign(new Error('could not connect'), { code: '08006' }))).toBe(true)
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), {
      code: 'DB_CONNECTION_LOST',
    })
    expect(isUnavailable(lost)).toBe(true)
    // By code only: the message alone says nothing (no matching of messages).
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(false)
    expect(isUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false)
    expect(isUnavailable(new TypeError('x is undefined'))).toBe(false)
    expect(isUnavailable('ECONNREFUSED')).toBe(false)
  })
})
