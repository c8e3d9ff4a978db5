import { describe, expect, it } from 'vitest'
import type { KeyValueStore, ProcessorContext } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { TopologyError } from '../../topology/errors.ts'
import { partitionForKey, type RoundRobin } from '../../topology/partitioner.ts'
import type { StreamRecord } from '../../topology/record.ts'
import { jsonValue } from '../../topology/serde.ts'

/**
 * Partitions the Java client gives these keys (UTF-8), computed independently of this code with
 * kafka-clients 4.4.0: `BuiltInPartitioner.partitionForKey(key.getBytes(UTF_8), n)` (the default
 * partitioner's keyed path) and `Utils.murmur2`. The murmur2 values of "21", "foobar", "abc" and the
 * long strings are Kafka's own UtilsTest.testMurmur2 vectors.
 */
const JAVA: ReadonlyArray<{ key: string; murmur2: number; p3: number; p5: number }> = [
  { key: '21', murmur2: -973932308, p3: 0, p5: 0 },
  { key: 'foobar', murmur2: -790332482, p3: 0, p5: 1 },
  { key: 'a-little-bit-long-string', murmur2: -985981536, p3: 2, p5: 2 },
  { key: 'a-little-bit-longer-string', murmur2: -1486304829, p3: 2, p5: 4 },
  { key: 'lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', murmur2: -58897971, p3: 2, p5: 2 },
  { key: 'abc', murmur2: 479470107, p3: 0, p5: 2 },
  { key: '', murmur2: 275646681, p3: 0, p5: 1 },
  { key: 'alice', murmur2: 1951417749, p3: 0, p5: 4 },
  { key: 'bob', murmur2: -2048144690, p3: 0, p5: 3 },
  { key: 'carol', murmur2: 271431602, p3: 2, p5: 2 },
  { key: 'dave', murmur2: 1727131798, p3: 1, p5: 3 },
  { key: 'user-1', murmur2: 1404122828, p3: 2, p5: 3 },
  { key: 'user-2', murmur2: -324981792, p3: 2, p5: 1 },
  { key: 'order-42', murmur2: 501153024, p3: 0, p5: 4 },
  { key: 'coupon-7', murmur2: -1692168013, p3: 1, p5: 0 },
  { key: 'ünïcödé', murmur2: 201421315, p3: 1, p5: 0 },
  { key: '한국어', murmur2: 790120414, p3: 1, p5: 4 },
]

interface Click {
  page: string
}

/** Counts records per key in the `counts` store and emits `{ key, count, at: context.now() }`. */
const countingTopology = (calls: { inits: number; processed: number } = { inits: 0, processed: 0 }) =>
  new TopologyBuilder('clicks-app')
    .source('clicks', { topic: 'clicks', parse: jsonValue<Click>() })
    .store('counts')
    .sink('counted', { topic: 'click-counts' })
    .processor<Click>('counter', {
      sources: ['clicks'],
      stores: ['counts'],
      sinks: ['counted'],
      supplier: () => ({
        init: () => void calls.inits++,
        process(record: StreamRecord<Click>, context: ProcessorContext) {
          calls.processed++
          const counts = context.store<KeyValueStore<number>>('counts')
          const count = (counts.get(record.key!) ?? 0) + 1
          counts.put(record.key!, count)
          context.emit('counted', { key: record.key, value: { key: record.key, count, at: context.now() } })
        },
      }),
    })
    .build()

const counts = (driver: TopologyTestDriver, partitions = 3) => {
  const all: Record<string, [partition: number, count: number]> = {}
  for (let p = 0; p < partitions; p++) {
    for (const [key, count] of driver.store<number>('counts', p).entries()) all[key] = [p, count]
  }
  return all
}

describe('partitionForKey', () => {
  it("should give a key the Java client's partition", () => {
    for (const { key, p3, p5 } of JAVA) {
      expect([partitionForKey(key, 3), partitionForKey(key, 5)], key).toEqual([p3, p5])
    }
  })

  it('should put every key on partition 0 of a one-partition topic', () => {
    for (const { key } of JAVA) expect(partitionForKey(key, 1)).toBe(0)
  })

  it('should send null keys round-robin', () => {
    const counter: RoundRobin = { next: 0 }
    expect([0, 1, 2, 3, 4].map(() => partitionForKey(null, 3, counter))).toEqual([0, 1, 2, 0, 1])
  })

  it('should refuse a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError)
    expect(() => partitionForKey('k', 2.5)).toThrow(RangeError)
  })
})

describe('TopologyTestDriver', () => {
  it("should count per key on the partitions the Java client's partitioner gives the keys", async () => {
    const driver = new TopologyTestDriver(countingTopology())
    for (const { key } of JAVA) driver.pipe('clicks', key, { page: '/' })
    driver.pipe('clicks', 'alice', { page: '/cart' })
    await driver.process()
    const expected = Object.fromEntries(JAVA.map(({ key, p3 }) => [key, [p3, key === 'alice' ? 2 : 1]]))
    expect(counts(driver)).toEqual(expected)
    const outputs = driver.output<{ key: string; count: number }>('click-counts')
    expect(outputs).toHaveLength(JAVA.length + 1)
    for (const o of outputs) expect([o.key, o.partition]).toEqual([o.value.key, expected[o.key!]![0]])
    expect(outputs.filter((o) => o.key === 'alice').map((o) => o.value.count)).toEqual([1, 2])
  })

  it('should process each partition in order, with outputs carrying their source position', async () => {
    const driver = new TopologyTestDriver(countingTopology(), { batchSize: 2 })
    for (let i = 0; i < 5; i++) driver.pipe('clicks', 'carol', { page: `/${i}` })
    const summary = await driver.process()
    expect(summary).toEqual({ batches: 3, consumed: 5, dlq: 0, outputs: 5, duplicates: 0, commitRetries: 0 })
    const outputs = driver.output<{ count: number }>('click-counts')
    expect(outputs.map((o) => o.value.count)).toEqual([1, 2, 3, 4, 5])
    expect(outputs.map((o) => o.headers['streams.output-id'])).toEqual(
      [0, 1, 2, 3, 4].map((offset) => `clicks-app/clicks/2/${offset}/0`),
    )
  })

  it('should keep committed counts over a restart and process pending input exactly once', async () => {
    const calls = { inits: 0, processed: 0 }
    const driver = new TopologyTestDriver(countingTopology(calls), { batchSize: 2 })
    for (let i = 0; i < 3; i++) driver.pipe('clicks', 'dave', { page: '/' })
    await driver.process()
    expect(calls).toEqual({ inits: 1, processed: 3 })
    for (let i = 0; i < 3; i++) driver.pipe('clicks', 'dave', { page: '/' })
    driver.restart()
    expect(counts(driver)).toEqual({ dave: [1, 3] })
    await driver.process()
    expect(calls).toEqual({ inits: 2, processed: 6 })
    expect(counts(driver)).toEqual({ dave: [1, 6] })
    const outputs = driver.allOutputs<{ count: number }>('click-counts')
    expect(outputs.map((o) => o.value.count)).toEqual([1, 2, 3, 4, 5, 6])
    expect(new Set(outputs.map((o) => o.headers['streams.output-id'])).size).toBe(6)
  })

  it('should run a batch whose commit failed again, leaving no duplicate effects', async () => {
    const calls = { inits: 0, processed: 0 }
    const driver = new TopologyTestDriver(countingTopology(calls), { batchSize: 3 })
    for (let i = 0; i < 3; i++) driver.pipe('clicks', 'bob', { page: '/' })
    driver.failNextCommits(2)
    const summary = await driver.process()
    expect(summary).toMatchObject({ batches: 1, consumed: 3, commitRetries: 2 })
    expect(calls.processed).toBe(9)
    expect(counts(driver)).toEqual({ bob: [0, 3] })
    expect(driver.output<{ count: number }>('click-counts').map((o) => o.value.count)).toEqual([1, 2, 3])
  })

  it('should move the clock that context.now() reads only through advanceTime', async () => {
    const driver = new TopologyTestDriver(countingTopology(), { startTime: 1_000, partitions: 1 })
    driver.pipe('clicks', 'k', { page: '/' })
    await driver.process()
    driver.advanceTime(250)
    driver.pipe('clicks', 'k', { page: '/' })
    await driver.process()
    expect(driver.output<{ at: number }>('click-counts').map((o) => o.value.at)).toEqual([1_000, 1_250])
    expect(() => driver.advanceTime(-1)).toThrow(RangeError)
  })

  it('should give identical outputs for identical input', async () => {
    const run = async () => {
      const driver = new TopologyTestDriver(countingTopology(), { batchSize: 2 })
      for (const key of ['alice', null, 'bob', null, 'alice', 'carol', null]) {
        driver.pipe('clicks', key, { page: '/' })
        driver.advanceTime(10)
      }
      await driver.process()
      return driver.allOutputs('click-counts')
    }
    const first = await run()
    expect(first).toHaveLength(7)
    expect(await run()).toEqual(first)
  })

  it('should send null keys round-robin over the partitions', async () => {
    const driver = new TopologyTestDriver(
      new TopologyBuilder('app')
        .source('s', { topic: 'in', parse: jsonValue() })
        .sink('out', { topic: 'out' })
        .processor('echo', {
          sources: ['s'],
          sinks: ['out'],
          supplier: () => ({
            process: (_record, context) => context.emit('out', { key: null, value: context.partition }),
          }),
        })
        .build(),
    )
    for (let i = 0; i < 4; i++) driver.pipe('in', null, i)
    await driver.process()
    expect(driver.output('out').map((o) => o.value)).toEqual([0, 0, 1, 2])
  })

  it('should return outputs once from output() and all of them from allOutputs()', async () => {
    const driver = new TopologyTestDriver(countingTopology())
    driver.pipe('clicks', 'k', { page: '/' })
    await driver.process()
    expect(driver.output('click-counts')).toHaveLength(1)
    expect(driver.output('click-counts')).toEqual([])
    driver.pipe('clicks', 'k', { page: '/' })
    await driver.process()
    expect(driver.output('click-counts')).toHaveLength(1)
    expect(driver.allOutputs('click-counts')).toHaveLength(2)
  })

  it('should put poison records on the DLQ with their original bytes', async () => {
    const driver = new TopologyTestDriver(countingTopology())
    driver.pipeRaw('clicks', 'alice', Buffer.from('{not json'), { headers: { source: 'web' }, timestamp: 7 })
    driver.pipe('clicks', 'alice', { page: '/' })
    await driver.process()
    const [dead, ...more] = driver.dlq('clicks')
    expect(more).toEqual([])
    expect(dead!.value.toString()).toBe('{not json')
    expect([dead!.key, dead!.partition]).toEqual([Buffer.from('alice'), 0])
    expect(dead!.headers).toMatchObject({
      'error.code': 'DESERIALIZATION_FAILED',
      'original.offset': '0',
      'original.timestamp': '7',
      source: 'web',
    })
    expect(driver.dlq('clicks')).toEqual([])
    expect(driver.allDlq('clicks')).toHaveLength(1)
    expect(counts(driver)).toEqual({ alice: [0, 1] })
    expect(() => driver.output('clicks.dlq')).toThrow(/dlq\(/)
  })

  it('regression: a DLQ copy should keep a key with NUL and invalid UTF-8 bytes exactly (it went through toString)', async () => {
    const driver = new TopologyTestDriver(countingTopology())
    const key = Buffer.from([0x61, 0x00, 0xff, 0xed, 0xa0, 0x80])
    driver.pipeRaw('clicks', key, Buffer.from('{not json'), { partition: 0 })
    await driver.process()
    const [dead] = driver.dlq('clicks')
    expect(dead!.key).toEqual(key)
  })

  it('regression: a DLQ error message quoting a NUL should carry it escaped, not raw', async () => {
    const driver = new TopologyTestDriver(countingTopology())
    driver.pipeRaw('clicks', 'alice', Buffer.from('\u0000{not json'), { partition: 0 })
    await driver.process()
    const message = driver.dlq('clicks')[0]!.headers['error.message']!
    expect(message).toContain('\\u0000')
    expect(message).not.toContain('\u0000')
  })

  it('should show committed state through a read-only store view', async () => {
    const driver = new TopologyTestDriver(countingTopology())
    const view = driver.store<number>('counts', 2)
    expect(view.size).toBe(0)
    driver.pipe('clicks', 'carol', { page: '/' })
    driver.failNextCommits(1)
    await driver.process()
    expect([view.get('carol'), view.size]).toEqual([1, 1])
    expect(() => view.put('carol', 5)).toThrow(/read-only/)
    expect(() => driver.store('nope', 0)).toThrow(TopologyError)
    expect(() => driver.store('counts', 3)).toThrow(RangeError)
  })

  it('should feed outputs to a topic the topology reads back into it', async () => {
    const parse = jsonValue<number>()
    const driver = new TopologyTestDriver(
      new TopologyBuilder('chain')
        .source('raw', { topic: 'raw', parse })
        .source('doubled-in', { topic: 'doubled', parse })
        .store('sums')
        .sink('doubled-out', { topic: 'doubled' })
        .processor<number>('doubler', {
          sources: ['raw'],
          sinks: ['doubled-out'],
          supplier: () => ({ process: (r, c) => c.emit('doubled-out', { key: r.key, value: r.value * 2 }) }),
        })
        .processor<number>('summer', {
          sources: ['doubled-in'],
          stores: ['sums'],
          supplier: () => ({
            process(r, c) {
              const sums = c.store<KeyValueStore<number>>('sums')
              sums.put(r.key!, (sums.get(r.key!) ?? 0) + r.value)
            },
          }),
        })
        .build(),
      { partitions: 1 },
    )
    for (const n of [1, 2, 3]) driver.pipe('raw', 'k', n)
    await driver.process()
    expect(driver.store<number>('sums', 0).get('k')).toBe(12)
  })

  it('should give a task reading two topics their records in the order they were piped', async () => {
    const seen: string[] = []
    const driver = new TopologyTestDriver(
      new TopologyBuilder('app')
        .source('a', { topic: 'ta', parse: jsonValue() })
        .source('b', { topic: 'tb', parse: jsonValue() })
        .processor('join', {
          sources: ['a', 'b'],
          supplier: () => ({ process: (r) => void seen.push(`${r.topic}:${r.value}`) }),
        })
        .build(),
      { partitions: 1, batchSize: 2 },
    )
    driver.pipe('tb', 'k', 1)
    driver.pipe('ta', 'k', 1)
    driver.pipe('ta', 'k', 2)
    driver.pipe('tb', 'k', 2)
    driver.pipe('ta', 'k', 3)
    await driver.process()
    expect(seen).toEqual(['tb:1', 'ta:1', 'ta:2', 'tb:2', 'ta:3'])
  })

  it("should reject a topology whose sources do not fit the driver's partition counts", () => {
    const declared = new TopologyBuilder('app')
      .source('s', { topic: 't', parse: jsonValue(), partitions: 6 })
      .processor('p', { sources: ['s'], supplier: () => ({ process() {} }) })
      .build()
    expect(() => new TopologyTestDriver(declared)).not.toThrow()
    expect(() => new TopologyTestDriver(declared, { partitions: 3 })).toThrow(/has 3 partitions, expected 6/)
    const join = new TopologyBuilder('app')
      .source('a', { topic: 'ta', parse: jsonValue() })
      .source('b', { topic: 'tb', parse: jsonValue() })
      .processor('p', { sources: ['a', 'b'], supplier: () => ({ process() {} }) })
      .build()
    expect(() => new TopologyTestDriver(join, { partitions: { ta: 3, tb: 4 } })).toThrow(TopologyError)
    expect(() => new TopologyTestDriver(join, { partitions: { ta: 4, tb: 4 } })).not.toThrow()
  })

  it('should reject bad options, unknown topics and partitions out of range', () => {
    expect(() => new TopologyTestDriver(countingTopology(), { batchSize: 0, partitions: -1 })).toThrow(
      /partitions of every topic: -1.*batchSize: 0/,
    )
    const driver = new TopologyTestDriver(countingTopology())
    expect(() => driver.pipe('nope', 'k', {})).toThrow(/no source reads nope/)
    expect(() => driver.pipe('clicks', 'k', {}, { partition: 3 })).toThrow(RangeError)
    driver.close()
    expect(() => driver.pipe('clicks', 'k', {})).toThrow(/closed/)
  })

  it('should run the example in its documentation as documented', async () => {
    const topology = new TopologyBuilder('demo')
      .source('orders', { topic: 'orders', parse: jsonValue<{ qty: number }>() })
      .store('totals')
      .sink('out', { topic: 'totals' })
      .processor<{ qty: number }>('sum', {
        sources: ['orders'],
        stores: ['totals'],
        sinks: ['out'],
        supplier: () => ({
          process(record, context) {
            const totals = context.store<KeyValueStore<number>>('totals')
            const total = (totals.get(record.key!) ?? 0) + record.value.qty
            totals.put(record.key!, total)
            context.emit('out', { key: record.key, value: { total } })
          },
        }),
      })
      .build()
    const driver = new TopologyTestDriver(topology, { partitions: 3 })
    driver.pipe('orders', 'user-1', { qty: 2 })
    driver.pipe('orders', 'user-1', { qty: 3 })
    await driver.process()
    expect(driver.output('totals').map((r) => [r.partition, r.value])).toEqual([
      [2, { total: 2 }],
      [2, { total: 5 }],
    ])
    expect(driver.store<number>('totals', 2).get('user-1')).toBe(5)
    driver.restart()
    driver.close()
  })
})
