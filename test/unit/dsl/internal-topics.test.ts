import { describe, expect, it } from 'vitest'
import { map, repartition, StreamsBuilder, selectKey, to } from '../../../topology/dsl/index.ts'
import { TopologyError } from '../../../topology/errors.ts'
import { internalTopicPartitions } from '../../../topology/internal-topics.ts'
import { internalTopicSpecs } from '../../../topology/runtime/internal-topic-creation.ts'
import { jsonValue } from '../../../topology/serde.ts'

/** lines -> repartition a -> repartition b (6 partitions) -> repartition c -> out */
function chained() {
  const builder = new StreamsBuilder('app')
  builder.stream('lines', { topic: 'lines', parse: jsonValue<string>() }).pipe(
    selectKey((line) => line),
    repartition('a'),
    map((line) => line.length),
    repartition('b', { partitions: 6 }),
    repartition('c'),
    to('out'),
  )
  return builder.build()
}

describe('internal topic partition counts', () => {
  it('should take a declared count, else the widest upstream topic, through chained repartitions', () => {
    expect(Object.fromEntries(internalTopicPartitions(chained(), new Map([['lines', 4]])))).toEqual({
      'app-a': 4,
      'app-b': 6,
      'app-c': 6,
    })
  })

  it('should list each internal topic with its DLQ for the runtime to create', () => {
    expect(internalTopicSpecs(chained(), new Map([['lines', 4]]))).toEqual([
      { topic: 'app-a', partitions: 4 },
      { topic: 'app-a.dlq', partitions: 4 },
      { topic: 'app-b', partitions: 6 },
      { topic: 'app-b.dlq', partitions: 6 },
      { topic: 'app-c', partitions: 6 },
      { topic: 'app-c.dlq', partitions: 6 },
    ])
  })

  it('should refuse to guess a count when the upstream topic is unknown', () => {
    expect(() => internalTopicSpecs(chained(), new Map())).toThrow(TopologyError)
    expect(() => internalTopicSpecs(chained(), new Map())).toThrow(
      /internal topic "app-a": no upstream topic/,
    )
  })
})
