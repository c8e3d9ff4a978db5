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

const bytes = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s)

export function encodeHeaders(
  headers: RecordHeaders | Iterable<readonly [string | Buffer, string | Buffer]>,
): Buffer {
  const entries = Symbol.iterator in headers ? headers : Object.entries(headers)
  const parts: Buffer[] = []
  for (const [name, value] of entries as Iterable<readonly [string | Buffer, string | Buffer]>) {
    for (const part of [bytes(name), bytes(value)]) {
      const length = Buffer.alloc(4)
      length.writeUInt32BE(part.length)
      parts.push(length, part)
    }
  }
  return Buffer.concat(parts)
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
