import { describe, expect, it } from 'vitest'
import { RecordError } from '../../topology/errors.ts'
import { jsonValue } from '../../topology/serde.ts'

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
