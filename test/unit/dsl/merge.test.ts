import { describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../../topology/api.ts'
import { TopologyTestDriver } from '../../../topology/driver/test-driver.ts'
import {
  count,
  filter,
  groupByKey,
  merge,
  process,
  type StreamContext,
  type StreamProcessor,
  to,
} from '../../../topology/dsl/index.ts'
import { StreamsBuilder } from '../../../topology/dsl/streams-builder.ts'
import type { StreamRecord } from '../../../topology/record.ts'
import { jsonValue } from '../../../topology/serde.ts'

describe('merge', () => {
  it('should feed the records of several topics to one processor, one store seeing them all', async () => {
    const builder = new StreamsBuilder('shop')
    const clicks = builder.stream('clicks', { topic: 'clicks', parse: jsonValue<{ page: string }>() })
    const views = builder.stream('views', { topic: 'views', parse: jsonValue<{ page: string }>() })
    clicks.pipe(merge(views), groupByKey(), count('events-per-user'), to('event-counts'))
    const topology = builder.build()
    expect(topology.processors).toHaveLength(1)
    expect(topology.sourceTopics(topology.processors[0]!)).toEqual(['clicks', 'views'])

    const driver = new TopologyTestDriver(topology, { partitions: 2 })
    driver.pipe('clicks', 'ann', { page: 'a' })
    driver.pipe('views', 'ann', { page: 'b' })
    driver.pipe('views', 'bob', { page: 'c' })
    driver.pipe('clicks', 'ann', { page: 'd' })
    await driver.process()
    const last = new Map(driver.output<number>('event-counts').map((r) => [r.key, r.value]))
    expect(Object.fromEntries(last)).toEqual({ ann: 3, bob: 1 })
  })

  it('should refuse a merge after an operator, operators on a merged stream, and a stream merged twice', () => {
    const attempt = (build: (b: StreamsBuilder) => void) => () => {
      const builder = new StreamsBuilder('shop')
      build(builder)
      builder.build()
    }
    const source = (b: StreamsBuilder, name: string) =>
      b.stream(name, { topic: name, parse: jsonValue<number>() })
    expect(
      attempt((b) => {
        const late = source(b, 'a').pipe(filter((n) => n > 0))
        late.pipe(merge(source(b, 'b')), to('out'))
      }),
    ).toThrow(/merge into "a": only a source stream merges, before any operator/)
    expect(
      attempt((b) => {
        const other = source(b, 'b')
        source(b, 'a').pipe(merge(other), to('out'))
        other.pipe(to('other-out'))
      }),
    ).toThrow(/stream "b" was merged into "a": apply operators to the merged stream/)
    expect(
      attempt((b) => {
        const other = source(b, 'b')
        source(b, 'a').pipe(merge(other), to('out'))
        source(b, 'c').pipe(merge(other), to('out-c'))
      }),
    ).toThrow(/merge "b": already merged into "a"/)
  })

  it('should refuse to merge topics declared with different partition counts (not co-partitioned)', () => {
    const builder = new StreamsBuilder('shop')
    const a = builder.stream('a', { topic: 'a', parse: jsonValue<number>(), partitions: 3 })
    const b = builder.stream('b', { topic: 'b', parse: jsonValue<number>(), partitions: 4 })
    a.pipe(merge(b), to('out'))
    expect(() => builder.build()).toThrow(/not co-partitioned/)
  })
})

/** Asks the owner of a key, through internal topics, and publishes the answer: a request and its reply. */
type Asked = { kind: 'question'; id: string; owner: string } | { kind: 'answer'; id: string; value: number }
class Asker implements StreamProcessor<Asked, never> {
  process(record: StreamRecord<Asked>, ctx: StreamContext<never>): void {
    const v = record.value
    if (v.kind === 'question') ctx.emit('ask', { key: v.owner, value: { id: v.id }, id: `${v.id}/ask` })
    else ctx.emit('results', { key: v.id, value: v.value, id: `${v.id}/result` })
  }
}
class Owner implements StreamProcessor<{ id: string }, never> {
  process(record: StreamRecord<{ id: string }>, ctx: StreamContext<never>): void {
    const asked = ctx.store<KeyValueStore<number>>('asked')
    const n = (asked.get(record.key!) ?? 0) + 1
    asked.put(record.key!, n)
    ctx.emit('reply', { key: record.value.id, value: { kind: 'answer', id: record.value.id, value: n } })
  }
}

describe('internal streams and process sinks', () => {
  const topology = () => {
    const builder = new StreamsBuilder('app')
    const questions = builder.stream('questions', { topic: 'questions', parse: jsonValue<Asked>() })
    const answers = builder.stream('answers', { topic: 'answers', internal: true, parse: jsonValue<Asked>() })
    questions.pipe(
      merge(answers),
      process(() => new Asker(), {
        name: 'asker',
        sinks: { ask: { topic: 'asks', internal: true }, results: 'results' },
      }),
    )
    builder.stream('asks', { topic: 'asks', internal: true, parse: jsonValue<{ id: string }>() }).pipe(
      process(() => new Owner(), {
        name: 'owner',
        stores: { asked: {} },
        sinks: { reply: { topic: 'answers', internal: true } },
      }),
    )
    return builder.build()
  }

  it('should create <applicationId>-<topic> internal topics and list them', () => {
    expect(topology().topics().internal).toEqual(
      expect.arrayContaining(['app-answers', 'app-asks', 'app-answers.dlq', 'app-asks.dlq']),
    )
  })

  it('should carry a request to its owner and the reply back to the asker, across processors', async () => {
    const driver = new TopologyTestDriver(topology(), { partitions: 2 })
    driver.pipe('questions', 'q1', { kind: 'question', id: 'q1', owner: 'ann' })
    driver.pipe('questions', 'q2', { kind: 'question', id: 'q2', owner: 'ann' })
    driver.pipe('questions', 'q3', { kind: 'question', id: 'q3', owner: 'bob' })
    await driver.process()
    const results = Object.fromEntries(driver.output<number>('results').map((r) => [r.key, r.value]))
    expect(results).toEqual({ q1: 1, q2: 2, q3: 1 })
  })
})
