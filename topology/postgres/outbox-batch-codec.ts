/**
 * A committed batch's outputs as one byte string, for one `outbox_batches.records` value. One row per
 * batch instead of one per record: inserting a row and deleting it after publication costs PostgreSQL
 * 25–40 µs of CPU per record (heap tuple, index entry, WAL, then its dead tuple), one row per batch
 * ~2 µs per record (measured in docs/benchmarks.md, "Outbox rows per batch"). Node builds one buffer
 * instead of four escaped array literals.
 *
 * Layout (integers big-endian): version byte (1); topic count (u16), each topic as u16 length + UTF-8;
 * then per record: topic index (u16), key length (i32, -1 for no key) + key, value length (u32) + value,
 * headers length (u32) + headers in topology/runtime/header-codec.ts's encoding.
 */

import { type RawBuilder, sql } from 'kysely'
import type { OutboxRecord } from '../runtime/backend.ts'
import { encodedHeadersLength, writeHeaders } from '../runtime/header-codec.ts'

const VERSION = 1

/** One record of a batch, as the relay reads it: slices of the stored value, nothing copied. */
export interface BatchRecord {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer
  /** header-codec's encoding, decoded by the relay (a bad one is its verdict, not a crash). */
  readonly headers: Buffer
}

/** Thrown for bytes this module did not write. */
export class BatchDecodeError extends Error {
  constructor(detail: string) {
    super(`outbox batch is not in the batch encoding: ${detail}`)
    this.name = 'BatchDecodeError'
  }
}

export function encodeBatch(records: readonly OutboxRecord[]): Buffer {
  const topics = new Map<string, number>()
  for (const r of records) if (!topics.has(r.topic)) topics.set(r.topic, topics.size)
  if (topics.size > 0xffff) throw new RangeError(`a batch writes ${topics.size} topics, at most 65535`)
  const prefix = topicTable([...topics.keys()])
  const headerSizes = records.map((r) => encodedHeadersLength(r.headers))
  let size = prefix.length
  // Index loops: `entries()` allocated a pair per record.
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    size += 14 + (r.key?.length ?? 0) + r.value.length + headerSizes[i]!
  }
  const out = Buffer.allocUnsafe(size)
  let at = prefix.copy(out, 0)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    at = out.writeUInt16BE(topics.get(r.topic)!, at)
    at = out.writeInt32BE(r.key === null ? -1 : r.key.length, at)
    if (r.key) at += r.key.copy(out, at)
    at = out.writeUInt32BE(r.value.length, at)
    at += r.value.copy(out, at)
    at = out.writeUInt32BE(headerSizes[i]!, at)
    at = writeHeaders(out, at, r.headers)
  }
  return out
}

export function decodeBatch(encoded: Buffer): BatchRecord[] {
  let at = 0
  const need = (n: number) => {
    if (at + n > encoded.length)
      throw new BatchDecodeError(`${n} bytes wanted at byte ${at} of ${encoded.length}`)
  }
  const u32 = () => {
    need(4)
    at += 4
    return encoded.readUInt32BE(at - 4)
  }
  const slice = (length: number) => {
    need(length)
    const part = encoded.subarray(at, at + length)
    at += length
    return part
  }
  need(3)
  const version = encoded.readUInt8(0)
  if (version !== VERSION) throw new BatchDecodeError(`version ${version}`)
  const topicCount = encoded.readUInt16BE(1)
  at = 3
  const topics: string[] = []
  for (let i = 0; i < topicCount; i++) {
    need(2)
    const length = encoded.readUInt16BE(at)
    at += 2
    topics.push(slice(length).toString('utf8'))
  }
  const records: BatchRecord[] = []
  while (at < encoded.length) {
    need(6)
    const topic = topics[encoded.readUInt16BE(at)]
    if (topic === undefined) throw new BatchDecodeError(`topic index ${encoded.readUInt16BE(at)}`)
    const keyLength = encoded.readInt32BE(at + 2)
    at += 6
    const key = keyLength < 0 ? null : slice(keyLength)
    const value = slice(u32())
    const headers = slice(u32())
    records.push({ topic, key, value, headers })
  }
  return records
}

/**
 * For a writer that builds its batch in SQL from the rows it inserts (the API's statement knows which
 * requests it accepted only inside PostgreSQL): the batch's start for records of one topic, to be
 * followed by `string_agg(batchRecordSql(...), ''::bytea order by ...)`. Tested against decodeBatch.
 */
export function batchPrefix(topic: string): Buffer {
  return topicTable([topic])
}

/** The start of every batch: the version, then the topics its records name by index. */
function topicTable(topics: readonly string[]): Buffer {
  const names = topics.map((t) => Buffer.from(t, 'utf8'))
  const table = Buffer.allocUnsafe(3 + names.reduce((n, name) => n + 2 + name.length, 0))
  let at = table.writeUInt8(VERSION, 0)
  at = table.writeUInt16BE(names.length, at)
  for (const name of names) {
    if (name.length > 0xffff) throw new RangeError(`topic name of ${name.length} bytes`)
    at = table.writeUInt16BE(name.length, at)
    at += name.copy(table, at)
  }
  return table
}

/** One record of the prefix's topic as a bytea expression; `key` may be null, the others not. */
export function batchRecordSql(
  key: RawBuilder<unknown>,
  value: RawBuilder<unknown>,
  headers: RawBuilder<unknown>,
): RawBuilder<Buffer> {
  return sql<Buffer>`(int2send(0::int2) || coalesce(int4send(octet_length(${key})) || ${key}, int4send(-1))
    || int4send(octet_length(${value})) || ${value} || int4send(octet_length(${headers})) || ${headers})`
}
