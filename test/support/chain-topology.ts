/**
 * Two processors joined by a topic, for the de-duplication tests and the chain chaos run: `router`
 * reads counting events and re-keys each to its key's group on `middle`; `grouper` reads `middle`
 * and counts per group, emitting each new count. A re-sent copy on `middle` that the grouper applied
 * twice would show as a group count above what was produced.
 */

import type { KeyValueStore } from '../../topology/api.ts'
import type { Deduplicate } from '../../topology/builder.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { RecordError } from '../../topology/errors.ts'
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
  return new TopologyBuilder(options.applicationId)
    .source('events', { topic: options.input, parse: parseCountEvent })
    .sink('routed', { topic: options.middle })
    .processor<CountEvent>('router', {
      sources: ['events'],
      sinks: ['routed'],
      supplier: () => ({
        process(record, ctx) {
          const { key, n } = record.value
          ctx.emit('routed', { key: groupOf(key), value: { group: groupOf(key), from: key, n } })
        },
      }),
    })
    .source('groups', {
      topic: options.middle,
      parse: parseRouted,
      ...(options.deduplicate === undefined ? {} : { deduplicate: options.deduplicate }),
    })
    .store('group-counts')
    .sink('counted', { topic: options.output })
    .processor<Routed>('grouper', {
      sources: ['groups'],
      stores: ['group-counts'],
      sinks: ['counted'],
      supplier: () => ({
        process(record, ctx) {
          const counts = ctx.store<KeyValueStore<number>>('group-counts')
          const count = (counts.get(record.value.group) ?? 0) + 1
          counts.put(record.value.group, count)
          ctx.emit('counted', { key: record.value.group, value: { key: record.value.group, count } })
        },
      }),
    })
    .build()
}
