/**
 * The relay's Produce request is @platformatic/kafka's, byte for byte: the same messages through
 * `encodeProduceRequest` and through the library's own `produceV11.createRequest` give the same
 * bytes — topics and partitions grouped and ordered as the library groups them, null and empty keys
 * and values, headers, timestamps before the first, idempotent sequences and producer ids, a
 * transactional id, and records long enough for multi-byte varints.
 */
import { randomBytes } from 'node:crypto'
import {
  type CallbackWithPromise,
  kGetApi,
  kListApis,
  metadataV12,
  NumericMap,
  produceV9,
  produceV11,
  type Writer,
} from '@platformatic/kafka'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CompactProducer, compactProduceApi } from '../../topology/postgres/compact-producer.ts'
import {
  encodeProduceRequest,
  type ProduceMessage,
  type ProduceRequestOptions,
} from '../../topology/postgres/produce-request.ts'

/** What the library's ApiVersions lookup hands its clients (its type is not exported). */
type ApiVersions = Parameters<Parameters<CompactProducer[typeof kListApis]>[0]>[1]

const T0 = 1_764_000_000_000n

/** The library mutates what it encodes (it fills in timestamps), so each side gets its own copy. */
const copy = (messages: ProduceMessage[]) => messages.map((m) => ({ ...m }))

function theirs(acks: number, messages: ProduceMessage[], options: ProduceRequestOptions = {}): Buffer {
  return produceV11.createRequest(acks, 30_000, copy(messages) as never, options as never).buffer
}

const message = (over: Partial<ProduceMessage>): ProduceMessage => ({
  topic: 'orders',
  partition: 0,
  key: Buffer.from('k1'),
  value: Buffer.from('{"n":1}'),
  headers: new Map(),
  timestamp: T0,
  ...over,
})

describe('encodeProduceRequest', () => {
  afterEach(() => vi.useRealTimers())

  it('should write the bytes the library writes for one record', () => {
    const messages = [message({})]
    expect(encodeProduceRequest(-1, 30_000, copy(messages))).toEqual(theirs(-1, messages))
  })

  it('should group topics by first appearance and partitions in ascending order, as the library does', () => {
    const messages = [
      message({ topic: 'b', partition: 2 }),
      message({ topic: 'a', partition: 1, timestamp: T0 + 5n }),
      message({ topic: 'b', partition: 0, timestamp: T0 - 3n }),
      message({ topic: 'b', partition: 2, timestamp: T0 + 70_000n }),
      message({ topic: 'a', partition: 0 }),
      message({ topic: 'b', partition: 10 }),
    ]
    expect(encodeProduceRequest(1, 30_000, copy(messages))).toEqual(theirs(1, messages))
  })

  it('should write null and empty keys and values, and headers, as the library does', () => {
    const headers = new Map([
      [Buffer.from('commerce-output-id'), Buffer.from('t/0/17/3')],
      [Buffer.from('empty'), Buffer.alloc(0)],
      [Buffer.from('한국어'), Buffer.from('☃')],
    ])
    const messages = [
      message({ key: undefined }),
      message({ key: Buffer.alloc(0), value: Buffer.alloc(0) }),
      message({ value: undefined, headers }),
      message({ headers: undefined }),
    ]
    expect(encodeProduceRequest(-1, 30_000, copy(messages))).toEqual(theirs(-1, messages))
  })

  it("should carry the idempotent producer's id, epoch and each partition's first sequence", () => {
    const sequences = new NumericMap()
    sequences.set('orders:0', 41)
    sequences.set('orders:2', 2_147_483_000)
    const options = { producerId: 9_007_199_254_740_993n, producerEpoch: 7, sequences }
    const messages = [message({ partition: 2 }), message({ partition: 0 }), message({ partition: 1 })]
    expect(encodeProduceRequest(-1, 30_000, copy(messages), options)).toEqual(theirs(-1, messages, options))
  })

  it('should mark a transactional batch and name its transactional id', () => {
    const options = { transactionalId: 'relay-tx-한', producerId: 3n, producerEpoch: 1 }
    const messages = [message({}), message({ partition: 1 })]
    expect(encodeProduceRequest(-1, 30_000, copy(messages), options)).toEqual(theirs(-1, messages, options))
  })

  it('should write many large random records with multi-byte varints as the library does', () => {
    const messages = Array.from({ length: 400 }, (_, i) =>
      message({
        topic: `t${i % 3}`,
        partition: i % 5,
        key: i % 7 === 0 ? undefined : randomBytes(i % 200),
        value: randomBytes((i * 37) % 20_000),
        headers: new Map(
          Array.from({ length: i % 4 }, (_, h) => [randomBytes(h * 70), randomBytes(i % 300)]),
        ),
        timestamp: T0 + BigInt(i * 1_000_003 - 200_000_000),
      }),
    )
    expect(encodeProduceRequest(-1, 30_000, copy(messages))).toEqual(theirs(-1, messages))
  })

  it('should stamp records without a timestamp with now, as the library does', () => {
    vi.useFakeTimers({ now: Number(T0), toFake: ['Date'] })
    const messages = [message({ timestamp: undefined }), message({ timestamp: undefined, partition: 1 })]
    expect(encodeProduceRequest(-1, 30_000, copy(messages), {}, Number(T0))).toEqual(theirs(-1, messages))
  })

  it('should stamp with now a record without a timestamp after one with another, as the library does', () => {
    vi.useFakeTimers({ now: Number(T0), toFake: ['Date'] })
    const messages = [message({ timestamp: T0 - 5_000n }), message({ timestamp: undefined })]
    expect(encodeProduceRequest(-1, 30_000, copy(messages), {}, Number(T0))).toEqual(theirs(-1, messages))
  })
})

describe('CompactProducer', () => {
  /** A producer whose broker (none here) supports Produce up to `maxVersion`. */
  function producerFor(maxVersion: number) {
    return new (class extends CompactProducer {
      override [kListApis](callback: CallbackWithPromise<ApiVersions>): void {
        callback(null, [
          { apiKey: 0, name: 'Produce', minVersion: 3, maxVersion },
          { apiKey: 3, name: 'Metadata', minVersion: 0, maxVersion: 12 },
        ])
      }
    })({ clientId: 'test', bootstrapBrokers: ['127.0.0.1:1'] })
  }

  const apiOf = (producer: CompactProducer, name: string) =>
    new Promise<unknown>((resolve, reject) =>
      producer[kGetApi](name, (error, api) => (error ? reject(error) : resolve(api))),
    )

  it('should hand the connection the Produce v11 request the library would, and the library the compressed ones', () => {
    const sent: { key: number; version: number; payload: Buffer; noResponse: boolean }[] = []
    const connection = {
      send(key: number, version: number, createPayload: () => Writer) {
        const writer = createPayload()
        sent.push({ key, version, payload: writer.buffer, noResponse: writer.context.noResponse === true })
      },
    }
    const messages = [message({}), message({ topic: 'b', partition: 3 })]
    for (const acks of [-1, 0])
      compactProduceApi(connection as never, acks, 30_000, copy(messages), {}, () => {})
    compactProduceApi(connection as never, -1, 30_000, copy(messages), { compression: 'none' }, () => {})
    expect(sent.map(({ key, version }) => [key, version])).toEqual([
      [0, 11],
      [0, 11],
      [0, 11],
    ])
    expect(sent[0]?.payload).toEqual(theirs(-1, messages))
    expect(sent[1]?.payload).toEqual(theirs(0, messages))
    expect(sent.map((s) => s.noResponse)).toEqual([false, true, false])
    expect(sent[2]?.payload).toEqual(theirs(-1, messages))

    // Compressed: the library's own request (its records batch is compressed, so not ours).
    sent.length = 0
    compactProduceApi(connection as never, -1, 30_000, copy(messages), { compression: 'snappy' }, () => {})
    const library = produceV11.createRequest(
      -1,
      30_000,
      copy(messages) as never,
      { compression: 'snappy' } as never,
    )
    expect(sent[0]?.payload).toEqual(library.buffer)
    expect(sent[0]?.payload).not.toEqual(theirs(-1, messages))

    // The promise form takes the same branches (the fake connection never answers: only the payload counts).
    sent.length = 0
    void compactProduceApi.async(connection as never, -1, 30_000, copy(messages), { compression: 'snappy' })
    void compactProduceApi.async(connection as never, -1, 30_000, copy(messages), {})
    expect(sent[0]?.payload).toEqual(library.buffer)
    expect(sent[1]?.payload).toEqual(theirs(-1, messages))
  })

  it('should answer Produce v11 with the compact API and leave other versions and APIs to the library', async () => {
    const v11 = producerFor(11)
    expect(await apiOf(v11, 'Produce')).toBe(compactProduceApi)
    expect(await apiOf(v11, 'Metadata')).toBe(metadataV12.api)
    const v9 = producerFor(9)
    expect(await apiOf(v9, 'Produce')).toBe(produceV9.api)
    await Promise.all([v11.close(), v9.close()])
  })
})
