import { describe, expect, it } from 'vitest'
import { describeTopology, topologyToMermaid } from '../../../topology/describe.ts'
import { wordCountTopology } from '../../support/word-count-topology.ts'

describe('describeTopology of a DSL topology', () => {
  const topology = wordCountTopology({ applicationId: 'wc', input: 'lines', output: 'counts' })

  it('should show every operator of each processor, by kind and name, in the order records pass them', () => {
    const { processors } = describeTopology(topology)
    expect(
      processors.map((p) => [p.name, p.operators.map((o) => `${o.kind}:${o.name}>${o.next.join('|')}`)]),
    ).toEqual([
      [
        'lines-processor',
        [
          'source:lines>flat-map-1',
          'flat-map:flat-map-1>select-key-2',
          'select-key:select-key-2>repartition-3',
          'repartition:repartition-3>',
        ],
      ],
      ['by-word-processor', ['source:by-word>count-4', 'count:count-4>to-5', 'to:to-5>']],
    ])
    expect(processors[1]!.operators.find((o) => o.kind === 'count')!.uses).toEqual(['word-counts'])
  })

  it('should list every topic, marking the internal ones', () => {
    expect(describeTopology(topology).topics).toEqual([
      { topic: 'lines', internal: false, readBy: 'lines-processor', writtenBy: [] },
      { topic: 'wc-by-word', internal: true, readBy: 'by-word-processor', writtenBy: ['lines-processor'] },
      { topic: 'counts', internal: false, readBy: null, writtenBy: ['by-word-processor'] },
      { topic: 'lines.dlq', internal: false, readBy: null, writtenBy: ['lines-processor'] },
      { topic: 'wc-by-word.dlq', internal: true, readBy: null, writtenBy: ['by-word-processor'] },
    ])
    expect(topologyToMermaid(topology)).toContain('topic_wc_by_word(["wc-by-word (internal)"])')
    expect(topologyToMermaid(topology)).toContain(
      'processor_by_word_processor["by-word-processor → count-4 → to-5"]',
    )
  })
})
