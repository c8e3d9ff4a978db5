/**
 * Two processors joined by a topic, written in the DSL, for the de-duplication tests and the chain
 * chaos run: `router`
 * reads counting events and re-keys each to its key's group on `middle`; `grouper` reads `middle`
 * and counts per group, emitting each new count. A re-sent copy on `middle` that the grouper applied
 * twice would show as a group count above what was produced.
 */

import { DEFAULT_OUTPUT_ID_HEADER, type Deduplicate } from '../../topology/builder.ts'
import { count, groupByKey, map, StreamsBuilder, selectKey, to } from '../../topology/dsl/index.ts'
import { RecordError } from '../../topology/errors.ts'
import type { RawRecord } from '../../topology/record.ts'
import { type CountEvent, parseCountEvent } from './counting-topology.ts'

export const GROUPS = 7

/** The group a counting key belongs to: a different key, so the record moves partition on the way. */
export function groupOf(key: string): string {
  let sum = 0
  for (const c of key) sum += c.charCodeAt(0)
  return `group-${sum % GROUPS}`
}

export interface Routed {
  group: string
  from: string
  n: number
}

function parseRouted(value: Buffer | null, key: string | null): Routed {
  const routed = JSON.parse(value?.toString('utf8') ?? 'null') as Partial<Routed> | null
  if (typeof routed?.group !== 'string' || routed.group !== key)
    throw new RecordError('KEY_MISMATCH', `group: record key ${key} != value group ${routed?.group}`)
  return routed as Routed
}

export function chainTopology(options: {
  applicationId: string
  input: string
  middle: string
  output: string
  /** How the grouper treats re-sent copies on `middle`; unset: the default (on, the topic is ours). */
  deduplicate?: Deduplicate
}) {
  const builder = new StreamsBuilder(options.applicationId)
  builder.stream('events', { topic: options.input, parse: parseCountEvent, processor: 'router' }).pipe(
    selectKey((event: CountEvent) => groupOf(event.key)),
    map((event: CountEvent): Routed => ({ group: groupOf(event.key), from: event.key, n: event.n })),
    to(options.middle, { name: 'routed' }),
  )
  builder
    .stream('groups', {
      topic: options.middle,
      parse: parseRouted,
      processor: 'grouper',
      ...(options.deduplicate === undefined ? {} : { deduplicate: options.deduplicate }),
    })
    .pipe(
      groupByKey(),
      count('group-counts'),
      map((count: number, group) => ({ key: group, count })),
      to(options.output, { name: 'counted' }),
    )
  return builder.build()
}

/**
 * A record of the middle topic as the router's output reaches the grouper: from key-1's group, at
 * `offset` of partition 0 of topic `mid`, carrying output id `id` (de-duplication tests).
 */
export function routedRecord(offset: number, id: string): RawRecord {
  const group = groupOf('key-1')
  return {
    topic: 'mid',
    partition: 0,
    offset: BigInt(offset),
    key: Buffer.from(group),
    value: Buffer.from(JSON.stringify({ group, from: 'key-1', n: offset })),
    timestamp: 0,
    headers: { [DEFAULT_OUTPUT_ID_HEADER]: id },
  }
}
