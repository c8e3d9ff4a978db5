/**
 * Compiles the DSL's graph to the Processor API's nodes: one source and one processor per segment,
 * with the stores, lookups, tables and sinks its steps need. The result is an ordinary Topology, so
 * the runtime and the TopologyTestDriver run it unchanged.
 */

import type { LookupKeys, OperatorDescription, RecordKeys } from '../builder.ts'
import { type Topology, TopologyBuilder, type TopologyOptions } from '../builder.ts'
import { TopologyError } from '../errors.ts'
import type { LookupReader, TableWriter } from '../postgres/state-backend.ts'
import type { StreamRecord } from '../record.ts'
import { type Segment, type Step, type StreamsGraph, UNCHANGED } from './graph.ts'
import { SegmentProcessor } from './segment-processor.ts'

type Reach = (record: StreamRecord<unknown>) => StreamRecord<unknown>[]

export function compile(graph: StreamsGraph, options: TopologyOptions = {}): Topology {
  const problems = [...graph.problems]
  const builder = new TopologyBuilder(graph.applicationId, options)
  const lookups = new Set<string>()
  const tables = new Set<string>()
  const readers = new Map<string, LookupReader>()
  const writers = new Map<string, TableWriter>()
  const persist = <F>(
    kind: string,
    known: Map<string, F>,
    given: Readonly<Record<string, F>> | undefined,
  ) => {
    for (const [name, fn] of Object.entries(given ?? {})) {
      if (known.has(name) && known.get(name) !== fn)
        problems.push(`${kind} "${name}": two different ones given`)
      known.set(name, fn)
    }
  }
  const sinks = new Map<string, { topic: string; internal?: boolean }>()
  const processors: Array<() => void> = []
  const stepNames = new Set<string>()

  for (const segment of graph.segments) {
    const { source, merged, options, root } = segment
    if (segment.mergedInto) {
      // Operators applied to a stream after it was merged would never see a record: say so.
      if (root.children.length > 0)
        problems.push(
          `stream "${source.name}" was merged into "${segment.mergedInto.source.name}": apply operators to the merged stream`,
        )
      continue
    }
    for (const s of [source, ...merged]) {
      builder.source(s.name, {
        topic: s.topic,
        parse: s.parse,
        ...(s.partitions !== undefined ? { partitions: s.partitions } : {}),
        ...(s.internal ? { internal: true } : {}),
        ...(s.deduplicate !== undefined ? { deduplicate: s.deduplicate } : {}),
        ...(s.keyOwned ? { keyOwned: true } : {}),
      })
    }
    const steps = descendants(root)
    const stores: string[] = []
    const keyFns = new Map<string, RecordKeys<unknown>[]>()
    const segmentTables = new Set<string>()
    const segmentSinks = new Set<string>()
    for (const step of steps) {
      if (stepNames.has(step.name)) problems.push(`${step.kind} "${step.name}": name already used`)
      stepNames.add(step.name)
      const needs = step.needs
      if (!needs) continue
      for (const [name, store] of Object.entries(needs.stores ?? {})) {
        stores.push(name)
        if (store.loading !== 'keyed') builder.store(name, store)
        else {
          const reach = reachOf(graph, step, problems)
          builder.store(name, { ...store, keys: reach ? through(reach, store.keys) : () => undefined })
        }
      }
      for (const [name, keys] of Object.entries(needs.lookups ?? {})) {
        const reach = reachOf(graph, step, problems)
        keyFns.set(name, [...(keyFns.get(name) ?? []), reach ? through(reach, keys) : () => undefined])
        lookups.add(name)
      }
      for (const table of needs.tables ?? []) {
        segmentTables.add(table)
        tables.add(table)
      }
      persist('reader of lookup', readers, needs.readers)
      persist('writer of table', writers, needs.writers)
      for (const sink of needs.sinks ?? []) {
        const known = sinks.get(sink.name)
        if (known && known.topic !== sink.topic)
          problems.push(`sink "${sink.name}" writes "${known.topic}" and "${sink.topic}"`)
        sinks.set(sink.name, { topic: sink.topic, ...(sink.internal ? { internal: true } : {}) })
        segmentSinks.add(sink.name)
      }
    }
    // Processors go last: the builder wants the stores, lookups, tables and sinks they name first.
    processors.push(() =>
      builder.processor(processorName(segment), {
        sources: [source.name, ...merged.map((s) => s.name)],
        stores,
        sinks: [...segmentSinks],
        lookups: Object.fromEntries([...keyFns].map(([name, fns]) => [name, union(fns)])),
        tables: [...segmentTables],
        supplier: () => new SegmentProcessor(root),
        ...(options.onError ? { onError: options.onError } : {}),
        ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
        operators: [root, ...steps].map(describeStep),
      }),
    )
  }
  for (const name of readers.keys())
    if (!lookups.has(name)) problems.push(`reader of lookup "${name}": no step reads it`)
  for (const name of writers.keys())
    if (!tables.has(name)) problems.push(`writer of table "${name}": no step writes it`)
  for (const name of lookups) builder.lookup(name, { read: readers.get(name) })
  for (const name of tables) builder.table(name, { write: writers.get(name) })
  for (const [name, sink] of sinks) builder.sink(name, sink)
  for (const add of processors) add()
  if (problems.length > 0) throw new TopologyError(problems)
  return builder.build()
}

export const processorName = (segment: Segment): string =>
  segment.options.processor ?? `${segment.source.name}-processor`

/** Every step below `root`, depth first. */
function descendants(root: Step): Step[] {
  return root.children.flatMap((child) => [child, ...descendants(child)])
}

/**
 * How a source record reaches `step`: through the previews of the steps before it. Undefined (and a
 * problem) when one of them keeps state, so its output cannot be known before the batch runs.
 */
function reachOf(graph: StreamsGraph, step: Step, problems: string[]): Reach | undefined {
  const path = graph.ancestors(step)
  const blocking = path.find((s) => !s.preview)
  if (blocking) {
    problems.push(
      `${step.kind} "${step.name}": its keys are fetched before the batch runs, but "${blocking.name}" ` +
        `(${blocking.kind}) before it keeps state; put a repartition() or to() between them`,
    )
    return undefined
  }
  // Steps that forward records unchanged (a source, a merge, a branch) are skipped: a key function runs
  // for every record of every batch, once per store and lookup, and the saga's all pass through merges.
  const changing = path.filter((s) => s.preview !== UNCHANGED)
  if (changing.length === 0) return UNCHANGED_REACH
  return (record) =>
    changing.reduce<StreamRecord<unknown>[]>((records, s) => records.flatMap((r) => s.preview!(r)), [record])
}

/** The reach of a step that source records reach unchanged. */
const UNCHANGED_REACH: Reach = (record) => [record]

/** A key function of the step's input, as a key function of the source record. */
function through(reach: Reach, keys: RecordKeys<unknown>): RecordKeys<unknown> {
  if (reach === UNCHANGED_REACH) return keys
  return (_value, record) => reach(record).flatMap((r) => toArray(keys(r.value, r)))
}

function union(fns: RecordKeys<unknown>[]): LookupKeys<unknown> {
  if (fns.length === 1) return fns[0]!
  return (value, record) => fns.flatMap((fn) => toArray(fn(value, record)))
}

const toArray = (keys: string | readonly string[] | undefined): string[] =>
  keys === undefined ? [] : typeof keys === 'string' ? [keys] : [...keys]

function describeStep(step: Step): OperatorDescription {
  const needs = step.needs ?? {}
  return {
    kind: step.kind,
    name: step.name,
    next: step.children.map((c) => c.name),
    uses: [
      ...Object.keys(needs.stores ?? {}),
      ...Object.keys(needs.lookups ?? {}),
      ...(needs.tables ?? []),
      ...(needs.sinks ?? []).map((s) => s.topic),
    ],
  }
}
