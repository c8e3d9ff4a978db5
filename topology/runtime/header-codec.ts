/**
 * Record headers as one byte string, for the outbox's `headers` column (`bytea`): for each header, the
 * name's length (4 bytes, big-endian), the name, the value's length, the value. No headers is the
 * empty buffer. Names and values are bytes, so nothing a producer can send is refused or changed.
 *
 * Why not `jsonb` (as before): it refuses `\u0000`, and text can hold neither NUL nor invalid UTF-8,
 * so one such header made a batch's commit fail for ever. Why not `bytea[]` name/value pairs: a batch
 * inserts its rows through `unnest` of one array per column, and `unnest` flattens a 2-D array.
 * Lengths are written as PostgreSQL's `int4send` writes them, so a migration can convert in SQL.
 */
import type { RecordHeaders } from '../record.ts'

export type HeaderBytes = Array<[name: Buffer, value: Buffer]>

/** Thrown by `decodeHeaders` for bytes this module did not write. */
export class HeaderDecodeError extends Error {
  constructor(detail: string) {
    super(`headers are not in the outbox encoding: ${detail}`)
    this.name = 'HeaderDecodeError'
  }
}

type HeaderEntries = Iterable<readonly [string | Buffer, string | Buffer]>

const byteLength = (part: string | Buffer) =>
  typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.length

/**
 * Calls `each` for every header in order. A processor's headers are an object, walked with `for...in`:
 * `Object.entries` built an array per header per output (bench:coupons profile).
 */
function forEachHeader(
  headers: RecordHeaders | HeaderEntries,
  each: (name: string | Buffer, value: string | Buffer) => void,
): void {
  if (Symbol.iterator in headers) for (const [name, value] of headers as HeaderEntries) each(name, value)
  else for (const name in headers) if (Object.hasOwn(headers, name)) each(name, headers[name]!)
}

/** The bytes `encodeHeaders` writes for `headers`. */
export function encodedHeadersLength(headers: RecordHeaders | HeaderEntries): number {
  let size = 0
  forEachHeader(headers, (name, value) => {
    size += 8 + byteLength(name) + byteLength(value)
  })
  return size
}

/**
 * Writes the encoding into `out` at `at` (which must have `encodedHeadersLength` bytes free) and returns
 * the offset after it. Written in place: the outbox encodes every output's headers, and a Buffer per
 * name, value and length, then a concat, was most of that cost (bench:coupons profile).
 */
export function writeHeaders(out: Buffer, at: number, headers: RecordHeaders | HeaderEntries): number {
  let to = at
  forEachHeader(headers, (name, value) => {
    to = writePart(out, writePart(out, to, name), value)
  })
  return to
}

function writePart(out: Buffer, at: number, part: string | Buffer): number {
  const length = byteLength(part)
  const to = out.writeUInt32BE(length, at)
  return to + (typeof part === 'string' ? out.write(part, to, length, 'utf8') : part.copy(out, to))
}

export function encodeHeaders(headers: RecordHeaders | HeaderEntries): Buffer {
  const out = Buffer.allocUnsafe(encodedHeadersLength(headers))
  writeHeaders(out, 0, headers)
  return out
}

export function decodeHeaders(encoded: Buffer): HeaderBytes {
  const headers: HeaderBytes = []
  let at = 0
  const take = (): Buffer => {
    if (at + 4 > encoded.length) throw new HeaderDecodeError(`a length is cut at byte ${at}`)
    const length = encoded.readUInt32BE(at)
    at += 4
    if (at + length > encoded.length)
      throw new HeaderDecodeError(`${length} bytes announced at byte ${at - 4}`)
    const part = encoded.subarray(at, at + length)
    at += length
    return part
  }
  while (at < encoded.length) headers.push([take(), take()])
  return headers
}

/** The headers as UTF-8 strings, for readers that want text (tests, tools). Lossy for invalid UTF-8. */
export function headersAsText(encoded: Buffer): Record<string, string> {
  return Object.fromEntries(decodeHeaders(encoded).map(([k, v]) => [k.toString('utf8'), v.toString('utf8')]))
}
