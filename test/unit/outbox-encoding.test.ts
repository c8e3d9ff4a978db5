import { describe, expect, it } from 'vitest'
import {
  decodeHeaders,
  encodeHeaders,
  HeaderDecodeError,
  headersAsText,
} from '../../topology/runtime/header-codec.ts'
import { headerText } from '../../topology/runtime/header-text.ts'

describe('header codec', () => {
  it('should give back every header byte for byte, NUL, invalid UTF-8 and empty values included', () => {
    const headers: Array<[Buffer, Buffer]> = [
      [Buffer.from('trace'), Buffer.from('a\u0000b')],
      [Buffer.from([0xff, 0x00]), Buffer.from([0xed, 0xa0, 0x80])],
      [Buffer.from('empty'), Buffer.alloc(0)],
    ]
    expect(decodeHeaders(encodeHeaders(headers))).toEqual(headers)
    expect(encodeHeaders({})).toEqual(Buffer.alloc(0))
    expect(decodeHeaders(Buffer.alloc(0))).toEqual([])
  })

  it('should write 4-byte big-endian lengths, as PostgreSQL int4send does (migration 0003 relies on it)', () => {
    expect(encodeHeaders({ id: 'é' }).toString('hex')).toBe('00000002' + '6964' + '00000002' + 'c3a9')
    expect(headersAsText(encodeHeaders({ id: 'é', n: '1' }))).toEqual({ id: 'é', n: '1' })
  })

  it('should size and write any string as Buffer.from does: 4-byte characters, lone surrogates (as U+FFFD)', () => {
    const odd = { '💥': 'a\ud800b', ü: '', x: '\u{1F600}\udfff' }
    const parts = Object.entries(odd).flatMap(([k, v]) => [Buffer.from(k), Buffer.from(v)])
    const reference = Buffer.concat(parts.flatMap((p) => [Buffer.from([0, 0, 0, p.length]), p]))
    expect(encodeHeaders(odd)).toEqual(reference)
  })

  it('should refuse bytes it did not write rather than invent headers', () => {
    const good = encodeHeaders({ id: 'x' })
    expect(() => decodeHeaders(good.subarray(0, good.length - 1))).toThrow(HeaderDecodeError)
    expect(() => decodeHeaders(Buffer.from([0, 0]))).toThrow(HeaderDecodeError)
  })
})

describe('headerText', () => {
  it('should escape control characters and replace lone surrogates', () => {
    expect(headerText('a\u0000b\nc\u007f\u0085')).toBe('a\\u0000b\\u000ac\\u007f\\u0085')
    expect(headerText('x\ud800y\udfffz')).toBe('x\uFFFDy\uFFFDz')
    expect(headerText('emoji 😀 stays')).toBe('emoji 😀 stays')
  })

  it('should cut to the byte limit at a character boundary and mark the cut', () => {
    const cut = headerText('é'.repeat(600), 1_000) // 1,200 bytes of 2-byte characters
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1_000)
    expect(cut.endsWith('é…')).toBe(true)
    expect(cut.isWellFormed()).toBe(true)
    const emoji = headerText('😀'.repeat(10), 13) // 4-byte characters: room for two and the mark
    expect(emoji).toBe('😀😀…')
    expect(headerText('short', 1_000)).toBe('short')
  })
})
