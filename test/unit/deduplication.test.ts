import { describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../topology/api.ts'
import { DEFAULT_OUTPUT_ID_HEADER, TopologyBuilder } from '../../topology/builder.ts'
import { describeTopology } from '../../topology/describe.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { TopologyError } from '../../topology/errors.ts'
import { jsonValue } from '../../topology/serde.ts'
import { chainTopology, GROUPS, groupOf } from '../support/chain-topology.ts'

const OUTPUT_ID = DEFAULT_OUTPUT_ID_HEADER

function chain(deduplicate?: boolean | { window: number }) {
  const topology = chainTopology({
    applicationId: 'app',
    input: 'in',
    middle: 'mid',
    output: 'out',
    deduplicate,
  })
  return new TopologyTestDriver(topology, { partitions: 3, batchSize: 10 })
}

function groupCounts(driver: TopologyTestDriver): Map<string, number> {
  const counts = new Map<string, number>()
  for (let p = 0; p < 3; p++)
    for (const [group, n] of driver.store<number>('group-counts', p).entries()) counts.set(group, n)
  return counts
}

function expectedCounts(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const key of keys) counts.set(groupOf(key), (counts.get(groupOf(key)) ?? 0) + 1)
  return counts
}

/** The relay re-sending what it published already: the same bytes and headers, to the same partition. */
function resend(driver: TopologyTestDriver, which: (i: number) => boolean): number {
  const copies = driver.allOutputs('mid').filter((_, i) => which(i))
  for (const r of copies)
    driver.pipeRaw('mid', r.key, Buffer.from(JSON.stringify(r.value)), {
      partition: r.partition,
      headers: r.headers,
    })
  return copies.length
}

/** One processor counting per key on a topic it reads, for the window and opt-in cases. */
function counter(deduplicate?: boolean | { window: number }) {
  const topology = new TopologyBuilder('app')
    .source('in', {
      topic: 'in',
      parse: jsonValue<number>(),
      ...(deduplicate === undefined ? {} : { deduplicate }),
    })
    .store('counts')
    .processor<number>('count', {
      sources: ['in'],
      stores: ['counts'],
      supplier: () => ({
        process(r, c) {
          const counts = c.store<KeyValueStore<number>>('counts')
          counts.put(r.key!, (counts.get(r.key!) ?? 0) + 1)
        },
      }),
    })
    .build()
  const driver = new TopologyTestDriver(topology, { partitions: 1, batchSize: 4 })
  const pipe = (id?: string) =>
    driver.pipe('in', 'k', 1, id === undefined ? {} : { headers: { [OUTPUT_ID]: id } })
  const count = () => driver.store<number>('counts', 0).get('k') ?? 0
  return { driver, pipe, count }
}

describe('idempotent consumption (output ids)', () => {
  it('should apply each re-sent record on an internal topic once, count the copies and commit past them', async () => {
    const driver = chain()
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i % 20}`)
    for (const key of keys) driver.pipe('in', key, { key, n: 1 })
    await driver.process()
    expect(groupCounts(driver)).toEqual(expectedCounts(keys))

    const copies = resend(driver, (i) => i % 3 === 0)
    const summary = await driver.process()
    expect(groupCounts(driver), 'no copy was applied').toEqual(expectedCounts(keys))
    expect(summary.duplicates).toBe(copies)
    expect(summary.consumed).toBe(0)
    expect(await driver.process(), 'the copies were committed past').toMatchObject({ batches: 0 })

    // New records after the copies are applied as usual.
    driver.pipe('in', 'key-0', { key: 'key-0', n: 2 })
    await driver.process()
    expect(groupCounts(driver)).toEqual(expectedCounts([...keys, 'key-0']))
  })

  it('should skip a copy that arrives in the same batch as its original, and one after a restart', async () => {
    const { driver, pipe, count } = counter(true)
    pipe('a')
    pipe('a')
    pipe('b')
    expect(await driver.process()).toMatchObject({ consumed: 2, duplicates: 1 })
    driver.restart()
    pipe('b')
    pipe('a')
    expect(await driver.process()).toMatchObject({ consumed: 0, duplicates: 2 })
    expect(count()).toBe(2)
  })

  it('should not remember the ids of a batch whose commit failed: its retry applies them', async () => {
    const { driver, pipe, count } = counter(true)
    pipe('a')
    pipe('b')
    driver.failNextCommits(1)
    expect(await driver.process()).toMatchObject({ commitRetries: 1, consumed: 2, duplicates: 0 })
    expect(count()).toBe(2)
    expect(driver.rememberedIds('count', 0)).toBe(2)
  })

  it('should load the same window when a task re-opens, to the offset, from rows kept per batch', async () => {
    const { driver, pipe, count } = counter({ window: 5 })
    for (let i = 0; i < 10; i++) pipe(`id-${i}`) // batches of 4: offsets 0-3, 4-7, 8-9
    await driver.process()
    // Next offset 10, window 5: ids at offsets 5-9. The backend keeps the row of 4-7 whole.
    expect(driver.rememberedIds('count', 0)).toBe(5)
    driver.restart()
    pipe('id-4') // offset 10, its original at 4: outside the window, applied again as before the restart
    pipe('id-5') // offset 11, its original at 5: inside, skipped
    expect(await driver.process()).toMatchObject({ consumed: 1, duplicates: 1 })
    expect(count()).toBe(11)
    // Next offset 12: ids at 7-9 and id-4's copy at 10.
    expect(driver.rememberedIds('count', 0)).toBe(4)
  })

  it('should process records without an output id as before', async () => {
    const { driver, pipe, count } = counter(true)
    pipe()
    pipe()
    expect(await driver.process()).toMatchObject({ consumed: 2, duplicates: 0 })
    expect(count()).toBe(2)
  })

  it('should not trust output ids on a topic the topology does not write, unless the source declares it', async () => {
    const upstream = counter()
    upstream.pipe('a')
    upstream.pipe('a')
    await upstream.driver.process()
    expect(upstream.count(), 'an upstream topic is not de-duplicated by default').toBe(2)

    const declared = counter(true)
    declared.pipe('a')
    declared.pipe('a')
    await declared.driver.process()
    expect(declared.count()).toBe(1)

    const off = chain(false)
    off.pipe('in', 'key-1', { key: 'key-1', n: 1 })
    await off.process()
    resend(off, () => true)
    expect(await off.process(), 'turned off, a copy is applied again').toMatchObject({
      duplicates: 0,
      consumed: 1,
    })
  })

  it('should remember ids for `window` offsets of the source partition, and no longer', async () => {
    const { driver, pipe, count } = counter({ window: 6 })
    pipe('first')
    for (let i = 0; i < 5; i++) pipe(`other-${i}`)
    pipe('first') // offset 6: six after its original, inside the window
    await driver.process()
    expect(count()).toBe(6)
    expect(driver.rememberedIds('count', 0)).toBeLessThanOrEqual(6)

    for (let i = 0; i < 6; i++) pipe(`more-${i}`)
    pipe('first') // far behind its original, which the window forgot: applied again (the documented bound)
    await driver.process()
    expect(count()).toBe(13)
    expect(driver.rememberedIds('count', 0)).toBeLessThanOrEqual(6)
  })

  it('should send a poison record to the DLQ once, however often it is re-sent', async () => {
    const driver = chain()
    driver.pipeRaw('mid', groupOf('key-1'), Buffer.from('not json'), {
      partition: 0,
      headers: { [OUTPUT_ID]: 'x' },
    })
    driver.pipeRaw('mid', groupOf('key-1'), Buffer.from('not json'), {
      partition: 0,
      headers: { [OUTPUT_ID]: 'x' },
    })
    expect(await driver.process()).toMatchObject({ dlq: 1, duplicates: 1 })
    expect(driver.dlq('mid')).toHaveLength(1)
  })

  it('should show in describe() (and so GET /topology) which sources are de-duplicated, and within what window', () => {
    const topology = chainTopology({ applicationId: 'app', input: 'in', middle: 'mid', output: 'out' })
    const windows = describeTopology(topology).sources.map((s) => [s.name, s.deduplicationWindow])
    expect(windows).toEqual([
      ['events', null], // an upstream topic: its output ids are not ours to trust
      ['groups', 20_000], // written by this topology's own sink: on by default
    ])
  })

  it('should refuse a window that is not a positive integer', () => {
    expect(() => counter({ window: 0 })).toThrow(TopologyError)
    expect(() => counter({ window: 1.5 })).toThrow(/deduplicate window must be a positive integer/)
  })

  it('should spread the groups over several keys (the fixture re-keys records)', () => {
    const groups = new Set(Array.from({ length: 50 }, (_, i) => groupOf(`key-${i}`)))
    expect(groups.size).toBe(GROUPS)
  })
})
