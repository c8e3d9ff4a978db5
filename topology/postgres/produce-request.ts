/**
 * A Kafka Produce request (v11) for the relay, written into one Buffer.
 *
 * @platformatic/kafka builds every field of every record as a Buffer of its own (a `Writer` and a
 * `DynamicBuffer` per record, one `allocUnsafe` per varint), then concatenates them: an allocation
 * profile of `bench:runtime-long` found 1.9 GB of the 7.4 GB the process allocated in 15 s there,
 * most of it promoted to the old generation because a 5,000-record round is encoded in one go. This
 * writes the same bytes — byte for byte, which test/unit/produce-request.test.ts checks against the
 * library's encoder — with one pass to size the request and one to write it.
 *
 * Uncompressed only: `compactProduceApi` (compact-producer.ts) hands anything compressed to the library.
 */
import { crc32c } from '@platformatic/kafka'

/** A message as the producer hands it to its Produce API: serialized, its partition chosen. */
export interface ProduceMessage {
  readonly topic: string
  readonly partition?: number | undefined
  readonly key?: Buffer | undefined
  readonly value?: Buffer | undefined
  readonly headers?: Map<Buffer, Buffer> | undefined
  readonly timestamp?: bigint | number | undefined
}

/** What the producer passes with each request (idempotence and transactions). */
export interface ProduceRequestOptions {
  readonly producerId?: bigint | undefined
  readonly producerEpoch?: number | undefined
  /** The first sequence of each `topic:partition` in this request (the idempotent producer's). */
  readonly sequences?: { getWithDefault(key: string, fallback: number): number } | undefined
  readonly transactionalId?: string | undefined
}

const CURRENT_MAGIC = 2
const IS_TRANSACTIONAL = 1 << 4
/** firstOffset (8), length (4), partitionLeaderEpoch (4), magic (1), crc (4). */
const BATCH_PREFIX = 21
/** attributes (2) … record count (4): what follows the CRC before the records. */
const BATCH_HEADER = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4

/** Bytes of an unsigned varint of a non-negative safe integer. */
function unsignedVarIntSize(value: number): number {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

/** Kafka's zigzag for signed varints (and varlongs, for the safe integers a timestamp delta is). */
const zigzag = (value: number) => (value >= 0 ? value * 2 : -value * 2 - 1)

function writeUnsignedVarInt(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value % 128) | 0x80
    value = Math.floor(value / 128)
  }
  buffer[offset++] = value
  return offset
}

/** A varint's size plus the bytes it prefixes; -1 (null) for a missing key or value. */
const bytesFieldSize = (bytes: Buffer | undefined) =>
  bytes == null ? 1 : unsignedVarIntSize(zigzag(bytes.length)) + bytes.length

function writeBytesField(buffer: Buffer, offset: number, bytes: Buffer | undefined): number {
  if (bytes == null) return writeUnsignedVarInt(buffer, offset, zigzag(-1))
  offset = writeUnsignedVarInt(buffer, offset, zigzag(bytes.length))
  return offset + bytes.copy(buffer, offset)
}

const millis = (timestamp: bigint | number | undefined, now: number) =>
  timestamp === undefined ? now : Number(timestamp)

/** One record's body (everything after its length varint), as sized before writing. */
function recordBodySize(message: ProduceMessage, delta: number, offsetDelta: number): number {
  let size = 1 + unsignedVarIntSize(zigzag(delta)) + unsignedVarIntSize(zigzag(offsetDelta))
  size += bytesFieldSize(message.key) + bytesFieldSize(message.value)
  const headers = message.headers
  size += unsignedVarIntSize(zigzag(headers?.size ?? 0))
  // `forEach`, not `for...of`: the iterator made an entry array per header (90 MB over 15 s of a run).
  headers?.forEach((value, name) => {
    size += bytesFieldSize(name) + bytesFieldSize(value)
  })
  return size
}

interface PartitionBatch {
  readonly partition: number
  readonly messages: ProduceMessage[]
  firstTimestamp: number
  maxTimestamp: number
  /** Each record's body size, in order, from the sizing pass. */
  readonly bodySizes: number[]
  /** The record batch's bytes from firstOffset to the last record. */
  size: number
}

/** Groups like the library's `groupByProperty`: topics by first appearance, partitions ascending. */
function group(messages: readonly ProduceMessage[]): [string, PartitionBatch[]][] {
  const byTopic: Record<string, Record<number, PartitionBatch>> = Object.create(null)
  for (const message of messages) {
    const partition = message.partition ?? 0
    let partitions = byTopic[message.topic]
    if (!partitions) {
      partitions = Object.create(null) as Record<number, PartitionBatch>
      byTopic[message.topic] = partitions
    }
    let batch = partitions[partition]
    if (!batch) {
      batch = { partition, messages: [], firstTimestamp: 0, maxTimestamp: 0, bodySizes: [], size: 0 }
      partitions[partition] = batch
    }
    batch.messages.push(message)
  }
  return Object.entries(byTopic).map(([topic, partitions]) => [topic, Object.values(partitions)])
}

function sizeBatch(batch: PartitionBatch, now: number): void {
  const first = millis(batch.messages[0]?.timestamp, now)
  let max = first
  let size = BATCH_PREFIX + BATCH_HEADER
  batch.messages.forEach((message, i) => {
    const timestamp = millis(message.timestamp, now)
    if (timestamp > max) max = timestamp
    const body = recordBodySize(message, timestamp - first, i)
    batch.bodySizes.push(body)
    size += unsignedVarIntSize(zigzag(body)) + body
  })
  batch.firstTimestamp = first
  batch.maxTimestamp = max
  batch.size = size
}

function writeBatch(
  buffer: Buffer,
  start: number,
  topic: string,
  batch: PartitionBatch,
  options: ProduceRequestOptions,
  now: number,
): number {
  const { messages, firstTimestamp } = batch
  buffer.writeBigInt64BE(0n, start)
  buffer.writeInt32BE(batch.size - 12, start + 8)
  buffer.writeInt32BE(0, start + 12) // partitionLeaderEpoch: the library sends 0
  buffer.writeInt8(CURRENT_MAGIC, start + 16)
  const crcFrom = start + BATCH_PREFIX
  let offset = crcFrom
  offset = buffer.writeInt16BE(options.transactionalId ? IS_TRANSACTIONAL : 0, offset)
  offset = buffer.writeInt32BE(messages.length - 1, offset)
  offset = buffer.writeBigInt64BE(BigInt(firstTimestamp), offset)
  offset = buffer.writeBigInt64BE(BigInt(batch.maxTimestamp), offset)
  offset = buffer.writeBigInt64BE(options.producerId ?? -1n, offset)
  offset = buffer.writeInt16BE(options.producerEpoch ?? 0, offset)
  const sequence = options.sequences?.getWithDefault(`${topic}:${batch.partition}`, 0) ?? 0
  offset = buffer.writeInt32BE(sequence, offset)
  offset = buffer.writeInt32BE(messages.length, offset)
  messages.forEach((message, i) => {
    offset = writeUnsignedVarInt(buffer, offset, zigzag(batch.bodySizes[i] ?? 0))
    buffer[offset++] = 0 // attributes
    offset = writeUnsignedVarInt(buffer, offset, zigzag(millis(message.timestamp, now) - firstTimestamp))
    offset = writeUnsignedVarInt(buffer, offset, zigzag(i))
    offset = writeBytesField(buffer, offset, message.key)
    offset = writeBytesField(buffer, offset, message.value)
    const headers = message.headers
    offset = writeUnsignedVarInt(buffer, offset, zigzag(headers?.size ?? 0))
    headers?.forEach((value, name) => {
      offset = writeBytesField(buffer, offset, name)
      offset = writeBytesField(buffer, offset, value)
    })
  })
  buffer.writeUInt32BE(crc32c(buffer.subarray(crcFrom, offset)), start + 17)
  return offset
}

/**
 * The Produce v11 request body (after the request header) for `messages`. A message without a
 * timestamp gets `now`, as the library gives it; `now` is a parameter so tests can fix it.
 */
export function encodeProduceRequest(
  acks: number,
  timeout: number,
  messages: readonly ProduceMessage[],
  options: ProduceRequestOptions = {},
  now = Date.now(),
): Buffer {
  const topics = group(messages)
  const transactionalId = options.transactionalId == null ? undefined : Buffer.from(options.transactionalId)
  let size =
    (transactionalId ? unsignedVarIntSize(transactionalId.length + 1) + transactionalId.length : 1) + 6
  size += unsignedVarIntSize(topics.length + 1) + 1
  const topicNames = topics.map(([topic, batches]) => {
    const name = Buffer.from(topic)
    size += unsignedVarIntSize(name.length + 1) + name.length + unsignedVarIntSize(batches.length + 1) + 1
    for (const batch of batches) {
      sizeBatch(batch, now)
      size += 4 + unsignedVarIntSize(batch.size + 1) + batch.size + 1
    }
    return name
  })

  const buffer = Buffer.allocUnsafe(size)
  let offset = 0
  if (transactionalId) {
    offset = writeUnsignedVarInt(buffer, offset, transactionalId.length + 1)
    offset += transactionalId.copy(buffer, offset)
  } else buffer[offset++] = 0
  offset = buffer.writeInt16BE(acks, offset)
  offset = buffer.writeInt32BE(timeout, offset)
  offset = writeUnsignedVarInt(buffer, offset, topics.length + 1)
  topics.forEach(([topic, batches], t) => {
    const name = topicNames[t] as Buffer
    offset = writeUnsignedVarInt(buffer, offset, name.length + 1)
    offset += name.copy(buffer, offset)
    offset = writeUnsignedVarInt(buffer, offset, batches.length + 1)
    for (const batch of batches) {
      offset = buffer.writeInt32BE(batch.partition, offset)
      offset = writeUnsignedVarInt(buffer, offset, batch.size + 1)
      offset = writeBatch(buffer, offset, topic, batch, options, now) // the clock sizeBatch used
      buffer[offset++] = 0 // the partition's tagged fields
    }
    buffer[offset++] = 0 // the topic's tagged fields
  })
  buffer[offset++] = 0 // the request's tagged fields
  if (offset !== size) throw new RangeError(`produce request sized ${size} bytes but wrote ${offset}`)
  return buffer
}
