import { describe, expect, it } from 'vitest'
import { RecordError } from '../../topology/errors.ts'
import { jsonValue } from '../../topology/serde.ts'
import { findUnstorable, MAX_JSON_DEPTH } from '../../topology/storable.ts'

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (error) {
    return error instanceof RecordError ? error.code : `not a RecordError: ${String(error)}`
  }
  return undefined
}

describe('jsonValue', () => {
  it('should parse UTF-8 JSON', () => {
    expect(jsonValue()(Buffer.from('{"name":"ünï","n":[1,2]}'), 'k')).toEqual({ name: 'ünï', n: [1, 2] })
  })

  it('should reject bad JSON, bytes that are not UTF-8 and a missing value as DESERIALIZATION_FAILED', () => {
    const parse = jsonValue()
    expect(codeOf(() => parse(Buffer.from('{"name":'), 'k'))).toBe('DESERIALIZATION_FAILED')
    expect(codeOf(() => parse(Buffer.from([0x22, 0xff, 0xfe, 0x22]), 'k'))).toBe('DESERIALIZATION_FAILED')
    expect(codeOf(() => parse(null, 'k'))).toBe('DESERIALIZATION_FAILED')
  })

  it('should return what validate returns', () => {
    const parse = jsonValue((v) => ({ qty: Number((v as { qty: string }).qty) }))
    expect(parse(Buffer.from('{"qty":"3"}'), null)).toEqual({ qty: 3 })
  })

  it("should pass validate's RecordError through and turn other errors into VALIDATION_FAILED", () => {
    const parse = jsonValue((v) => {
      if (v === 1) throw new RecordError('KEY_MISMATCH', 'key: does not match')
      throw new TypeError('qty: must be a number')
    })
    expect(codeOf(() => parse(Buffer.from('1'), 'k'))).toBe('KEY_MISMATCH')
    expect(codeOf(() => parse(Buffer.from('2'), 'k'))).toBe('VALIDATION_FAILED')
    expect(() => parse(Buffer.from('2'), 'k')).toThrow('qty: must be a number')
  })
})

describe('jsonValue: what PostgreSQL cannot store', () => {
  const parse = jsonValue()
  const messageOf = (fn: () => unknown): string => {
    try {
      fn()
    } catch (error) {
      return error instanceof RecordError ? `${error.code} ${error.message}` : String(error)
    }
    return 'no error'
  }

  it('should reject a NUL or a lone surrogate in any string as VALIDATION_FAILED naming the field', () => {
    expect(messageOf(() => parse(Buffer.from('{"requestId":"a\\u0000b"}'), 'k'))).toBe(
      'VALIDATION_FAILED requestId: contains a NUL character (\\u0000)',
    )
    expect(messageOf(() => parse(Buffer.from('{"items":[{"name":"\\ud800"}]}'), 'k'))).toBe(
      'VALIDATION_FAILED items[0].name: contains a lone UTF-16 surrogate',
    )
    expect(messageOf(() => parse(Buffer.from('{"a\\u0000":1}'), 'k'))).toMatch(
      /^VALIDATION_FAILED value: a property name contains a NUL/,
    )
    // A well-formed pair is text like any other.
    expect(parse(Buffer.from('{"emoji":"\\ud83d\\ude00"}'), 'k')).toEqual({ emoji: '😀' })
  })

  it('should reject a value nested deeper than the bound without overflowing the stack', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000)
    expect(messageOf(() => parse(Buffer.from(deep), 'k'))).toMatch(
      /^VALIDATION_FAILED .*nested deeper than 64/,
    )
  })

  it('should check what validate returns, so ignored extra fields may hold anything', () => {
    const pick = jsonValue((v) => ({ id: (v as { id: number }).id }))
    expect(pick(Buffer.from('{"id":1,"extra":"\\u0000"}'), 'k')).toEqual({ id: 1 })
  })

  it('should name the first problem in document order by its full path, and allow exactly the depth bound', () => {
    const value = { a: [1, { b: 'ok', c: ['x', 'y\u0000'] }], d: '\ud800' }
    expect(findUnstorable(value)).toEqual({ path: 'a[1].c[1]', reason: 'contains a NUL character (\\u0000)' })
    expect(findUnstorable({ a: [{}, { 'k\ud800': 1 }] })).toEqual({
      path: 'a[1]',
      reason: 'a property name contains a lone UTF-16 surrogate',
    })
    const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { n: nested(depth - 1) })
    expect(findUnstorable(nested(MAX_JSON_DEPTH))).toBeUndefined()
    expect(findUnstorable(nested(MAX_JSON_DEPTH + 1))).toEqual({
      path: `${'n.'.repeat(MAX_JSON_DEPTH - 1)}n`,
      reason: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
    })
  })
})
