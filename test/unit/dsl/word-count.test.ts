import { describe, expect, it } from 'vitest'
import { TopologyTestDriver } from '../../../topology/driver/test-driver.ts'
import { partitionForKey } from '../../../topology/partitioner.ts'
import { expectedCounts, wordCountTopology } from '../../support/word-count-topology.ts'

describe('a DSL topology of two processors joined by an internal topic', () => {
  const lines = ['the cat sat', 'on the mat', 'The end', 'cat and mat and the cat']

  it('should count every word exactly once, in the task of the partition the word hashes to', async () => {
    const topology = wordCountTopology({ applicationId: 'wc', input: 'lines', output: 'word-counts-topic' })
    // 2 partitions of lines: the internal topic gets the same (its widest upstream).
    const driver = new TopologyTestDriver(topology, { partitions: { lines: 2 }, batchSize: 3 })
    for (const [i, line] of lines.entries()) driver.pipe('lines', `line-${i}`, line)
    await driver.process()

    const expected = expectedCounts(lines)
    const last = new Map<string, number>()
    const outputs = driver.output<number>('word-counts-topic')
    for (const r of outputs) last.set(r.key!, r.value)
    expect(Object.fromEntries(last)).toEqual(Object.fromEntries(expected))
    // One output per word occurrence, each count once: 1, 2, ... per word.
    expect(outputs).toHaveLength([...expected.values()].reduce((a, b) => a + b))
    for (const [word, n] of expected) {
      expect(outputs.filter((r) => r.key === word).map((r) => r.value)).toEqual(
        Array.from({ length: n }, (_, i) => i + 1),
      )
      expect(driver.store<number>('word-counts', partitionForKey(word, 2)).get(word)).toBe(n)
    }
  })

  it('should declare the internal topic and both processors', () => {
    const topology = wordCountTopology({ applicationId: 'wc', input: 'lines', output: 'word-counts-topic' })
    expect(topology.topics().internal).toEqual(['wc-by-word', 'wc-by-word.dlq'])
    expect(topology.processors.map((p) => [p.name, topology.sourceTopics(p)])).toEqual([
      ['lines-processor', ['lines']],
      ['by-word-processor', ['wc-by-word']],
    ])
  })

  it('should keep every count exact across a restart and failed commits', async () => {
    const topology = wordCountTopology({ applicationId: 'wc', input: 'lines', output: 'out' })
    const driver = new TopologyTestDriver(topology, { partitions: 3, batchSize: 2 })
    for (const [i, line] of lines.entries()) driver.pipe('lines', `line-${i}`, line)
    driver.failNextCommits(3)
    await driver.process()
    driver.restart()
    driver.pipe('lines', 'again', 'cat')
    await driver.process()
    const expected = expectedCounts([...lines, 'cat'])
    for (const [word, n] of expected)
      expect(driver.store<number>('word-counts', partitionForKey(word, 3)).get(word)).toBe(n)
  })
})
