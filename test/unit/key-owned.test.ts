/**
 * A source declared `keyOwned`: each key belongs to the partition the Java partitioner gives it, and a
 * record a producer put on another partition goes to the DLQ as WRONG_PARTITION instead of being
 * processed by a task that does not own its key. Checked through the builder and through the DSL.
 */
import { describe, expect, it } from 'vitest'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { StreamsBuilder, to } from '../../topology/dsl/index.ts'
import { partitionForKey } from '../../topology/partitioner.ts'
import { jsonValue } from '../../topology/serde.ts'
import { echoTopology } from '../support/echo-topology.ts'

const echo = (keyOwned: boolean) =>
  echoTopology({ applicationId: 'app', input: 'in', output: 'seen', keyOwned })

const KEYS = ['alice', 'bob', 'carol', '7', '한국어']
const owner = (key: string) => partitionForKey(key, 3)

/** Each key once on its own partition and once on the next one; and a record without a key. */
function pipeEverywhere(d: TopologyTestDriver, topic: string) {
  KEYS.forEach((key, i) => {
    d.pipe(topic, key, i, { partition: owner(key) })
    d.pipe(topic, key, 100 + i, { partition: (owner(key) + 1) % 3 })
  })
  d.pipe(topic, null, 999, { partition: 2 })
}

describe('keyOwned sources', () => {
  it('should process a key on its own partition and send it elsewhere to the DLQ, naming both partitions', async () => {
    const d = new TopologyTestDriver(echo(true), { partitions: 3 })
    pipeEverywhere(d, 'in')
    await d.process()
    expect(
      d
        .output<number>('seen')
        .map((r) => r.value)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 999])
    // Exactly the five put on a partition not their key's, each naming the owner and where it was.
    const dead = d
      .dlq('in')
      .map((r) => [r.key?.toString(), r.headers['error.code'], r.headers['error.message']])
    expect(dead.sort()).toEqual(
      KEYS.map((key) => [
        key,
        'WRONG_PARTITION',
        `key "${key}" belongs to partition ${owner(key)} of 3, not ${(owner(key) + 1) % 3} (the Java client's murmur2 partitioner)`,
      ]).sort(),
    )
  })

  it('should process every record of a source not declared keyOwned, wherever it is', async () => {
    const d = new TopologyTestDriver(echo(false), { partitions: 3 })
    pipeEverywhere(d, 'in')
    await d.process()
    expect(d.output('seen')).toHaveLength(2 * KEYS.length + 1)
    expect(d.dlq('in')).toEqual([])
  })

  it('should carry keyOwned from a DSL stream to its source', async () => {
    const builder = new StreamsBuilder('app')
    builder.stream('in', { topic: 'in', parse: jsonValue<number>(), keyOwned: true }).pipe(to('seen'))
    const d = new TopologyTestDriver(builder.build(), { partitions: 3 })
    pipeEverywhere(d, 'in')
    await d.process()
    expect(d.output('seen')).toHaveLength(KEYS.length + 1)
    expect(d.dlq('in').map((r) => r.headers['error.code'])).toEqual(KEYS.map(() => 'WRONG_PARTITION'))
  })
})
