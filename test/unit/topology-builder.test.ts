import { describe, expect, it } from 'vitest'
import type { ProcessorSupplier } from '../../topology/api.ts'
import { type ProcessorNode, type Topology, TopologyBuilder } from '../../topology/builder.ts'
import { describeTopology, topologyToMermaid } from '../../topology/describe.ts'
import { TopologyError } from '../../topology/errors.ts'
import { jsonValue } from '../../topology/serde.ts'

const parse = jsonValue()
const supplier: ProcessorSupplier = () => ({ process() {} })

const small = (): Topology =>
  new TopologyBuilder('shop')
    .source('orders', { topic: 'order-created', parse })
    .store('counts')
    .sink('statuses', { topic: 'order-status' })
    .lookup('users')
    .table('order-log')
    .processor('counter', {
      sources: ['orders'],
      stores: ['counts'],
      sinks: ['statuses'],
      lookups: { users: (value: unknown) => String((value as { userId?: number }).userId) },
      tables: ['order-log'],
      supplier,
    })
    .build()

/** The problems `build()` reports for a topology, or [] when it builds. */
const problemsOf = (define: (b: TopologyBuilder) => TopologyBuilder): readonly string[] => {
  try {
    define(new TopologyBuilder('shop')).build()
    return []
  } catch (error) {
    if (!(error instanceof TopologyError)) throw error
    return error.problems
  }
}

describe('TopologyBuilder lookups and tables', () => {
  it('should report unknown and unused lookups and tables', () => {
    const problems = problemsOf((b) =>
      b
        .source('orders', { topic: 'orders', parse })
        .lookup('unused-lookup')
        .table('unused-table')
        .processor('p', { sources: ['orders'], lookups: { users: () => '1' }, tables: ['nope'], supplier }),
    )
    expect(problems).toEqual(
      expect.arrayContaining([
        'processor "p": unknown lookup "users"',
        'processor "p": unknown table "nope"',
        'lookup "unused-lookup": no processor uses it',
        'table "unused-table": no processor uses it',
      ]),
    )
  })
})

describe('TopologyBuilder', () => {
  it('should build a valid topology', () => {
    const topology = small()
    expect(topology.applicationId).toBe('shop')
    expect(topology.nodes.map((n) => `${n.kind}:${n.name}`)).toEqual([
      'source:orders',
      'store:counts',
      'sink:statuses',
      'lookup:users',
      'table:order-log',
      'processor:counter',
    ])
    const counter = topology.node('processor', 'counter')
    expect(counter).toMatchObject({ onError: 'dlq', maxAttempts: 3, sources: ['orders'] })
    expect(topology.sourceTopics(counter)).toEqual(['order-created'])
    expect(topology.topics()).toEqual({
      inputs: ['order-created'],
      outputs: ['order-status', 'order-created.dlq'],
      internal: [],
    })
  })

  it('should deeply freeze the topology', () => {
    const topology = small()
    const counter = topology.node('processor', 'counter') as ProcessorNode
    expect(Object.isFrozen(topology)).toBe(true)
    expect(Object.isFrozen(topology.nodes)).toBe(true)
    for (const node of topology.nodes) expect(Object.isFrozen(node), node.name).toBe(true)
    for (const list of [counter.sources, counter.stores, counter.sinks])
      expect(Object.isFrozen(list)).toBe(true)
    expect(() => (counter.sources as string[]).push('other')).toThrow(TypeError)
    expect(() => {
      ;(counter as { maxAttempts: number }).maxAttempts = 9
    }).toThrow(TypeError)
  })

  it('should report unknown sources, stores and sinks', () => {
    expect(
      problemsOf((b) =>
        b.processor('p', { sources: ['nope'], stores: ['no-store'], sinks: ['no-sink'], supplier }),
      ),
    ).toEqual([
      'processor "p": unknown source "nope"',
      'processor "p": unknown store "no-store"',
      'processor "p": unknown sink "no-sink"',
    ])
  })

  it('should report a name used twice', () => {
    expect(
      problemsOf((b) =>
        b
          .source('x', { topic: 't', parse })
          .sink('x', { topic: 'out' })
          .processor('p', { sources: ['x'], supplier }),
      ),
    ).toContain('sink "x": name already used')
  })

  it('should report a source read by two processors', () => {
    expect(
      problemsOf((b) =>
        b
          .source('s', { topic: 't', parse })
          .processor('p1', { sources: ['s'], supplier })
          .processor('p2', { sources: ['s'], supplier }),
      ),
    ).toEqual(['processor "p2": source "s" is already read by "p1"'])
  })

  it('should report a store used by two processors', () => {
    expect(
      problemsOf((b) =>
        b
          .source('s1', { topic: 't1', parse })
          .source('s2', { topic: 't2', parse })
          .store('st')
          .processor('p1', { sources: ['s1'], stores: ['st'], supplier })
          .processor('p2', { sources: ['s2'], stores: ['st'], supplier }),
      ),
    ).toEqual(['processor "p2": store "st" already belongs to "p1"'])
  })

  it('should report a source no processor reads and a store no processor uses', () => {
    expect(
      problemsOf((b) =>
        b
          .source('s', { topic: 't', parse })
          .source('idle', { topic: 'idle-topic', parse })
          .store('unused')
          .processor('p', { sources: ['s'], supplier }),
      ),
    ).toEqual(['source "idle": no processor reads it', 'store "unused": no processor uses it'])
  })

  it('should report a keyed store without a keys function or with a bad cache size', () => {
    expect(
      problemsOf((b) =>
        b
          .source('s', { topic: 't', parse })
          .store('no-keys', { loading: 'keyed' } as never)
          .store('no-cache', { loading: 'keyed', keys: () => 'k', maxCachedEntries: 0 })
          .processor('p', { sources: ['s'], stores: ['no-keys', 'no-cache'], supplier }),
      ),
    ).toEqual([
      'store "no-keys": a keyed store needs a keys function',
      'store "no-cache": maxCachedEntries must be a positive integer',
    ])
  })

  it('should report a maxAttempts that is not a positive integer', () => {
    for (const maxAttempts of [0, -1, 1.5, Number.NaN]) {
      expect(
        problemsOf((b) =>
          b.source('s', { topic: 't', parse }).processor('p', { sources: ['s'], supplier, maxAttempts }),
        ),
        String(maxAttempts),
      ).toEqual(['processor "p": maxAttempts must be a positive integer'])
    }
  })

  it('should report sources of one processor that declare different partition counts', () => {
    expect(
      problemsOf((b) =>
        b
          .source('a', { topic: 'ta', parse, partitions: 3 })
          .source('b', { topic: 'tb', parse, partitions: 6 })
          .processor('join', { sources: ['a', 'b'], supplier }),
      ),
    ).toEqual(['processor "join": its sources declare different partition counts, so are not co-partitioned'])
  })

  it('should report every problem in one TopologyError', () => {
    const build = () =>
      new TopologyBuilder('shop')
        .source('s', { topic: 't', parse })
        .store('unused')
        .processor('p', { sources: ['s', 'ghost'], sinks: ['nowhere'], supplier, maxAttempts: 0 })
        .build()
    expect(build).toThrow(TopologyError)
    const error = (() => {
      try {
        build()
      } catch (e) {
        return e as TopologyError
      }
    })()!
    expect(error.problems).toEqual([
      'processor "p": unknown source "ghost"',
      'processor "p": unknown sink "nowhere"',
      'processor "p": maxAttempts must be a positive integer',
      'store "unused": no processor uses it',
    ])
    for (const problem of error.problems) expect(error.message).toContain(problem)
  })
})

describe('Topology.checkPartitions', () => {
  const join = () =>
    new TopologyBuilder('shop')
      .source('a', { topic: 'ta', parse })
      .source('b', { topic: 'tb', parse })
      .processor('join', { sources: ['a', 'b'], supplier })
      .build()

  it('should accept co-partitioned topics that exist', () => {
    expect(
      join().checkPartitions(
        new Map([
          ['ta', 4],
          ['tb', 4],
        ]),
      ),
    ).toEqual([])
  })

  it('should report a missing topic', () => {
    expect(small().checkPartitions(new Map())).toEqual([
      'source "orders": topic "order-created" does not exist',
    ])
  })

  it("should report a topic whose count differs from the source's declared one", () => {
    const topology = new TopologyBuilder('shop')
      .source('s', { topic: 't', parse, partitions: 6 })
      .processor('p', { sources: ['s'], supplier })
      .build()
    expect(topology.checkPartitions(new Map([['t', 3]]))).toEqual([
      'source "s": topic "t" has 3 partitions, expected 6',
    ])
  })

  it('should report sources of one processor that are not co-partitioned', () => {
    expect(
      join().checkPartitions(
        new Map([
          ['ta', 3],
          ['tb', 4],
        ]),
      ),
    ).toEqual(['processor "join": topics ta, tb are not co-partitioned (ta=3, tb=4), but share its stores'])
  })
})

describe('describeTopology', () => {
  it('should describe sources, processors, stores, sinks and DLQs as JSON', () => {
    expect(describeTopology(small())).toEqual({
      applicationId: 'shop',
      sources: [
        {
          name: 'orders',
          topic: 'order-created',
          processor: 'counter',
          internal: false,
          deduplicationWindow: null,
        },
      ],
      processors: [
        {
          name: 'counter',
          sources: ['orders'],
          stores: ['counts'],
          sinks: ['statuses'],
          lookups: ['users'],
          tables: ['order-log'],
          onError: 'dlq',
          operators: [],
        },
      ],
      stores: [{ name: 'counts', type: 'key-value', loading: 'eager', processor: 'counter' }],
      sinks: [{ name: 'statuses', topic: 'order-status', internal: false }],
      lookups: ['users'],
      tables: ['order-log'],
      dlqs: ['order-created.dlq'],
      topics: [
        { topic: 'order-created', internal: false, readBy: 'counter', writtenBy: [] },
        { topic: 'order-status', internal: false, readBy: null, writtenBy: ['counter'] },
        { topic: 'order-created.dlq', internal: false, readBy: null, writtenBy: ['counter'] },
      ],
    })
  })
})

describe('topologyToMermaid', () => {
  it('should draw topics, the processor, its store and its DLQ as a flowchart', () => {
    expect(topologyToMermaid(small())).toBe(
      [
        'flowchart LR',
        '  topic_order_created(["order-created"])',
        '  store_counts[("counts")]',
        '  topic_order_status(["order-status"])',
        '  lookup_users[/"users"/]',
        '  table_order_log[("table order-log")]',
        '  processor_counter["counter"]',
        '  topic_order_created --> processor_counter',
        '  processor_counter -. poison .-> topic_order_created_dlq(["order-created.dlq"])',
        '  processor_counter <--> store_counts',
        '  lookup_users -.-> processor_counter',
        '  processor_counter --> table_order_log',
        '  processor_counter --> topic_order_status',
        '',
      ].join('\n'),
    )
  })
})
