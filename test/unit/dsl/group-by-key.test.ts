import { describe, expect, it } from 'vitest'
import { count, groupByKey, process, repartition, to } from '../../../topology/dsl/index.ts'
import { StreamsBuilder } from '../../../topology/dsl/streams-builder.ts'
import { TopologyError } from '../../../topology/errors.ts'
import { jsonValue } from '../../../topology/serde.ts'

const pipeline = (withRepartition: boolean) => {
  const builder = new StreamsBuilder('app')
  const rekeyed = builder.stream('in', { topic: 'in', parse: jsonValue<number>() }).pipe(
    process<number, number>(() => ({
      process: (r, ctx) => ctx.forward({ key: String(r.value), value: r.value }),
    })),
  )
  const grouped = withRepartition
    ? rekeyed.pipe(repartition('by-value'), groupByKey())
    : rekeyed.pipe(groupByKey())
  grouped.pipe(count('counts'), to('out'))
  return builder
}

describe('groupByKey', () => {
  it('should refuse to group after a process step, which may re-key, unless repartitioned', () => {
    expect(() => pipeline(false).build()).toThrow(TopologyError)
    expect(() => pipeline(false).build()).toThrow(/groupByKey after process "process-1"/)
  })

  it('should group after a repartition', () => {
    expect(
      pipeline(true)
        .build()
        .processors.map((p) => p.name),
    ).toEqual(['in-processor', 'by-value-processor'])
  })
})
