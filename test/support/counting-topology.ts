/**
 * A small stateful topology used by the runtime's integration tests, chaos runs and benchmark:
 * it counts records per key in a partition-local store and emits each new count.
 */
import { type Static, Type } from 'typebox'
import type { KeyValueStore, Processor } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { RecordError } from '../../topology/errors.ts'
import { jsonSchemaValue } from '../../topology/schema.ts'

const CountEvent = Type.Object({ key: Type.String(), n: Type.Integer() })
export type CountEvent = Static<typeof CountEvent>

const parseJson = jsonSchemaValue(CountEvent)

export function parseCountEvent(value: Buffer | null, key: string | null): CountEvent {
  const event = parseJson(value, key)
  if (event.key !== key)
    throw new RecordError('KEY_MISMATCH', `key: record key ${key} != value key ${event.key}`)
  return event
}

class Counter implements Processor<CountEvent> {
  process(record: { value: CountEvent }, ctx: Parameters<Processor['process']>[1]): void {
    const counts = ctx.store<KeyValueStore<number>>('counts')
    const count = (counts.get(record.value.key) ?? 0) + 1
    counts.put(record.value.key, count)
    ctx.emit('counted', { key: record.value.key, value: { key: record.value.key, count } })
  }
}

export function countingTopology(options: {
  applicationId: string
  input: string
  output: string
  /** Skip re-sent copies by output id on the input (off by default: nothing of ours writes it). */
  deduplicate?: boolean
}) {
  const { deduplicate } = options
  return new TopologyBuilder(options.applicationId)
    .source('events', {
      topic: options.input,
      parse: parseCountEvent,
      ...(deduplicate ? { deduplicate } : {}),
    })
    .store('counts')
    .sink('counted', { topic: options.output })
    .processor('counter', {
      sources: ['events'],
      stores: ['counts'],
      sinks: ['counted'],
      supplier: () => new Counter(),
    })
    .build()
}
