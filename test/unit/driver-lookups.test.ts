/**
 * `TopologyTestDriver.feedLookup`: a lookup that follows a table the topology writes, as a PostgreSQL
 * lookup reads the rows an earlier batch committed — one processor's decisions visible to another.
 */
import { describe, expect, it } from 'vitest'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { process, StreamsBuilder, to } from '../../topology/dsl/index.ts'
import { StreamsError } from '../../topology/errors.ts'
import { jsonValue } from '../../topology/serde.ts'

/** `approvals` records a verdict per id in table `verdicts`; `shipments` ships only approved ids. */
function topology() {
  const builder = new StreamsBuilder('app')
  builder.stream('approvals', { topic: 'approvals', parse: jsonValue<{ id: string; ok: boolean }>() }).pipe(
    process(() => ({ process: (r, ctx) => ctx.write('verdicts', { id: r.value.id, ok: r.value.ok }) }), {
      name: 'approve',
      tables: ['verdicts'],
    }),
  )
  builder.stream('shipments', { topic: 'shipments', parse: jsonValue<{ id: string }>() }).pipe(
    process<{ id: string }, string>(
      () => ({
        process: (r, ctx) => {
          const ok = ctx.lookup<boolean>('approved').get(r.value.id)
          ctx.forward({ key: r.value.id, value: ok ? 'shipped' : 'held' })
        },
      }),
      { name: 'ship', lookups: { approved: (v) => v.id } },
    ),
    to('shipped'),
  )
  return builder.build()
}

describe('TopologyTestDriver.feedLookup', () => {
  it('should let a lookup follow the rows another processor committed to a table', async () => {
    const driver = new TopologyTestDriver(topology(), { partitions: 1 })
    driver.feedLookup('verdicts', 'approved', (row) => [String(row.id), row.ok])
    driver.pipe('approvals', 'a', { id: 'a', ok: true })
    driver.pipe('approvals', 'b', { id: 'b', ok: false })
    await driver.process()
    driver.pipe('shipments', 'a', { id: 'a' })
    driver.pipe('shipments', 'b', { id: 'b' })
    driver.pipe('shipments', 'c', { id: 'c' })
    await driver.process()
    expect(driver.output<string>('shipped').map((r) => [r.key, r.value])).toEqual([
      ['a', 'shipped'],
      ['b', 'held'],
      ['c', 'held'],
    ])
  })

  it('should refuse a table or lookup the topology does not declare', () => {
    const driver = new TopologyTestDriver(topology(), { partitions: 1 })
    expect(() => driver.feedLookup('nope', 'approved', () => undefined)).toThrow(StreamsError)
    expect(() => driver.feedLookup('verdicts', 'nope', () => undefined)).toThrow(/no lookup nope/)
  })
})
