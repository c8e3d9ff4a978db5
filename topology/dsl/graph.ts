/**
 * The DSL's graph before it is compiled: each source starts a segment (one processor of the compiled
 * topology), and the operators applied to its stream form a tree of steps inside it. A step is data
 * (`kind`, `name`, what it needs) plus a factory for the per-partition code that runs it.
 */

import type { ProcessorContext } from '../api.ts'
import type { Deduplicate, RecordKeys, StoreOptions } from '../builder.ts'
import type { LookupReader, TableWriter } from '../postgres/state-backend.ts'
import type { StreamRecord } from '../record.ts'

/** A record on its way through a processor's steps, with the output id a `process` step gave it. */
export interface Flowing {
  readonly record: StreamRecord<unknown>
  readonly id?: string
}

/** Passes a record on to the step's children, or to one of them (a `branch` arm) by index. */
export type Forward = (next: Flowing, child?: number) => void

/** A step's code on one partition; synchronous, so everything it does lands in the batch's commit. */
export interface StepRuntime {
  init?(context: ProcessorContext): void
  process(input: Flowing, context: ProcessorContext, forward: Forward): void
  close?(): void
}

/** Stores, lookups, tables and sinks a step uses; key functions read the record as it reaches the step. */
export interface StepNeeds {
  readonly stores?: Readonly<Record<string, StoreOptions<unknown>>>
  readonly lookups?: Readonly<Record<string, RecordKeys<unknown>>>
  readonly tables?: readonly string[]
  /** How the PostgreSQL backend reads those lookups and writes those tables, by name. */
  readonly readers?: Readonly<Record<string, LookupReader>>
  readonly writers?: Readonly<Record<string, TableWriter>>
  readonly sinks?: ReadonlyArray<{
    readonly name: string
    readonly topic: string
    readonly internal?: boolean
  }>
}

export interface Step {
  readonly kind: string
  readonly name: string
  readonly children: Step[]
  /** The step may give records another key: grouping after it needs a `repartition` first. */
  readonly rekeys?: boolean
  /**
   * What the step forwards, computed without state or reference data. The runtime fetches a batch's
   * lookup and keyed-store keys before it runs, from the source records: a later step's key function
   * is reached through the previews of the steps before it. A stateful step has none.
   */
  readonly preview?: (record: StreamRecord<unknown>) => StreamRecord<unknown>[]
  readonly needs?: StepNeeds
  instantiate(): StepRuntime
}

export interface SegmentSource {
  readonly name: string
  readonly topic: string
  readonly parse: (value: Buffer | null, key: string | null) => unknown
  readonly partitions?: number
  readonly internal?: boolean
  readonly deduplicate?: Deduplicate
  readonly keyOwned?: boolean
}

export interface SegmentOptions {
  /** The compiled processor's name (default `<source>-processor`): task names and stored offsets use it. */
  processor?: string
  onError?: 'dlq' | 'stop'
  maxAttempts?: number
}

/** One source (and those merged into it) and the steps that run on its records: one processor, one task per partition. */
export interface Segment {
  readonly source: SegmentSource
  /** Sources a `merge` joined to this one: their records enter the same root, on the same task. */
  readonly merged: SegmentSource[]
  /** Set on a segment merged into another: its stream lives on there, and takes no operators of its own. */
  mergedInto?: Segment
  readonly options: SegmentOptions
  /** A pass-through step whose children are the operators applied to the source stream. */
  readonly root: Step
}

/** The graph a StreamsBuilder collects: segments, each step's ancestors, and problems found on the way. */
export class StreamsGraph {
  readonly applicationId: string
  readonly segments: Segment[] = []
  readonly problems: string[] = []
  readonly #ancestors = new Map<Step, readonly Step[]>()
  #counter = 0

  constructor(applicationId: string) {
    this.applicationId = applicationId
  }

  /** A step name unique in the topology, as Kafka Streams numbers its nodes: `filter-3`. */
  name(kind: string): string {
    return `${kind}-${++this.#counter}`
  }

  addSegment(source: SegmentSource, options: SegmentOptions = {}): Segment {
    const segment: Segment = { source, merged: [], options, root: passThrough('source', source.name) }
    this.segments.push(segment)
    this.#ancestors.set(segment.root, [])
    return segment
  }

  /** Attaches `step` below `parent`. */
  attach(parent: Step, step: Step): void {
    parent.children.push(step)
    this.#ancestors.set(step, [...this.ancestors(parent), parent])
  }

  /** The steps a record passes before reaching `step`, from the segment's root. */
  ancestors(step: Step): readonly Step[] {
    return this.#ancestors.get(step) ?? []
  }
}

/** The preview of a step that forwards every record unchanged: key functions may skip it. */
export const UNCHANGED: NonNullable<Step['preview']> = (record) => [record]

/** A step that forwards every record unchanged (a segment's root, a branch's arm). */
export function passThrough(kind: string, name: string, preview?: Step['preview']): Step {
  return {
    kind,
    name,
    children: [],
    preview: preview ?? UNCHANGED,
    instantiate: () => ({ process: (input, _ctx, forward) => forward(input) }),
  }
}
