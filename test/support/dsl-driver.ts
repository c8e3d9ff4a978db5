/** Runs a DSL pipeline on the TopologyTestDriver: records piped to topic `in`, the pipeline built on it. */

import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { StreamsBuilder } from '../../topology/dsl/index.ts'
import type { KStream } from '../../topology/dsl/kstream.ts'
import { jsonValue } from '../../topology/serde.ts'

export interface DriveOptions {
  partitions?: number
  /** Lookup entries, by lookup name and key. */
  lookups?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
}

export async function drive<V>(
  pipeline: (input: KStream<V>) => void,
  records: ReadonlyArray<readonly [string | null, V]>,
  options: DriveOptions = {},
): Promise<TopologyTestDriver> {
  const builder = new StreamsBuilder('dsl-test')
  pipeline(builder.stream('in', { topic: 'in', parse: jsonValue<V>() }))
  const driver = new TopologyTestDriver(builder.build(), { partitions: options.partitions ?? 1 })
  for (const [lookup, entries] of Object.entries(options.lookups ?? {}))
    for (const [key, value] of Object.entries(entries)) driver.setLookup(lookup, key, value)
  for (const [key, value] of records) driver.pipe('in', key, value)
  await driver.process()
  return driver
}

/** The key and value of each record published to `topic`. */
export const published = <V>(driver: TopologyTestDriver, topic: string) =>
  driver.output<V>(topic).map((r) => [r.key, r.value] as const)
