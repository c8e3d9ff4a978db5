import { describe, expect, it } from 'vitest'
import { parseQuerystring } from '../../api/text-guard.ts'
import { findUnstorable } from '../../topology/storable.ts'

const findUnstorableText = (value: unknown, root: string) =>
  findUnstorable(value, {
    root,
    join: (path, segment) => `${path}.${segment}`,
    maxDepth: Number.POSITIVE_INFINITY,
  })

describe("findUnstorable with the HTTP edge's paths", () => {
  it('should accept every well-formed string, astral characters and U+FFFD included', () => {
    expect(findUnstorableText({ a: ['Zoë 🎟️', '\ufffd', { b: '\ud83c\udf9f' }], c: 1, d: null }, 'body')).toBe(
      undefined,
    )
  })

  it('should name the first NUL or lone surrogate in document order', () => {
    expect(findUnstorableText({ a: 'ok', b: ['x', 'y\u0000'], c: '\ud800' }, 'body')).toEqual({
      path: 'body.b.1',
      reason: expect.stringMatching(/NUL/),
    })
    expect(findUnstorableText({ a: 'ok', c: '\udc00x' }, 'params')).toEqual({
      path: 'params.c',
      reason: expect.stringMatching(/lone UTF-16 surrogate/),
    })
    // A high surrogate at the very end, with no low one after it.
    expect(findUnstorableText('abc\ud83c', 'querystring')?.path).toBe('querystring')
  })

  it('should refuse a bad property name, naming the object it is in', () => {
    expect(findUnstorableText({ outer: { 'a\u0000': 1 } }, 'body')).toEqual({
      path: 'body.outer',
      reason: expect.stringMatching(/^a property name /),
    })
  })
})

describe('parseQuerystring', () => {
  it('should decode as fastify did: "+" is a space, a repeated key an array', () => {
    expect({ ...parseQuerystring('a=1+2&b=%C3%AB&a=3&flag&=x&&c=') }).toEqual({
      a: ['1 2', '3'],
      b: 'ë',
      flag: '',
      '': 'x',
      c: '',
    })
  })

  it('should drop a component that is not percent-encoded UTF-8 rather than keep it raw', () => {
    const query = parseQuerystring('ok=1&bad=%ED%A0%80&worse=%FF')
    expect({ ...query }).toEqual({ ok: '1' })
  })
})
