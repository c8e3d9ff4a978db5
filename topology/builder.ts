/**
 * The declarative topology: sources, processors, stores and sinks as frozen data with a `kind`
 * discriminant. `build()` validates it before anything runs and returns an immutable Topology that
 * can be printed (JSON, Mermaid), checked against the broker, and run by the runtime or the driver.
 */

import type { ErrorPolicy, ProcessorSupplier, ValueParser } from './api.ts'
import { TopologyError } from './errors.ts'
import type { LookupReader, TableWriter } from './postgres/state-backend.ts'
import type { StreamRecord } from './record.ts'
import { validate } from './validate-topology.ts'

export interface SourceNode {
  readonly kind: 'source'
  readonly name: string
  readonly topic: string
  /** Partitions the topic must have, when the topology insists; otherwise whatever the broker says. */
  readonly partitions?: number
  readonly parse: ValueParser<unknown>
  /** Whether records are skipped by output id (see `Topology.deduplication`); unset: the default. */
  readonly deduplicate?: Deduplicate
  /** The topology's own topic (a DSL `repartition`): the runtime creates it at start-up. */
  readonly internal?: boolean
  /**
   * Owned by key: a record must be on the partition the Java partitioner gives its key (murmur2 over
   * the topic's partitions); one elsewhere goes to the DLQ as WRONG_PARTITION instead of being
   * processed. For topics other producers write whose partitions own their keys' state: a producer
   * with another partitioner (librdkafka's default hashes with CRC32) or an explicit partition would
   * otherwise give one key two owners. Records without a key are not checked.
   */
  readonly keyOwned?: boolean
}

/**
 * Skipping re-sent records by their output id: `true` (the default window), `false`, or a window in
 * offsets of the source partition. Only for topics our own outbox writes: an id header on a topic
 * anyone writes is not ours to trust, so an upstream topic is never de-duplicated unless declared.
 */
export type Deduplicate = boolean | { readonly window: number }

/**
 * How far back, in offsets of the source partition, a task remembers the output ids it applied. The
 * relay re-sends a round whose rows it published but could not delete, and one relay runs per
 * database, so a re-send lands at most a few rounds (5,000 rows each by default) after its original.
 */
export const DEFAULT_DEDUP_WINDOW = 20_000

/** How a store's state reaches memory: whole when its task opens, or by the keys each batch needs. */
export const StoreLoadings = {
  /** Loaded whole when the task opens: for small state, e.g. a counter per coupon. */
  EAGER: 'eager',
  /** Loaded per batch, by the keys its records need, into a bounded cache: for state that grows with history. */
  KEYED: 'keyed',
} as const
export type StoreLoading = (typeof StoreLoadings)[keyof typeof StoreLoadings]

/**
 * Which keys of a store (or lookup) a record needs: the runtime fetches them all before the batch runs.
 * Most read the value; the record is there for keys that are the record's own (a DSL aggregation's).
 */
export type RecordKeys<V> = (value: V, record: StreamRecord<V>) => string | readonly string[] | undefined

export type StoreNode =
  | { readonly kind: 'store'; readonly name: string; readonly type: 'key-value'; readonly loading: 'eager' }
  | {
      readonly kind: 'store'
      readonly name: string
      readonly type: 'key-value'
      readonly loading: 'keyed'
      /** Every key a record's processing may read; reading another throws a StoreError. */
      readonly keys: RecordKeys<unknown>
      /** Committed entries kept in memory between batches (a batch may need more; it gets them all). */
      readonly maxCachedEntries: number
    }

export type StoreOptions<V> = { type?: 'key-value' } & (
  | { loading?: 'eager' }
  | { loading: 'keyed'; keys: RecordKeys<V>; maxCachedEntries?: number }
)

const DEFAULT_MAX_CACHED_ENTRIES = 10_000

/** Reference data a processor reads by key (e.g. users, coupons), fetched for each batch before it runs. */
export interface LookupNode {
  readonly kind: 'lookup'
  readonly name: string
  /** How the PostgreSQL backend reads it: declared with the processor that uses it, so it travels with it. */
  readonly read?: LookupReader
}

/** A table a processor writes rows to; the rows are applied in the batch's transaction. */
export interface TableNode {
  readonly kind: 'table'
  readonly name: string
  /** How the PostgreSQL backend writes its rows, in the batch's transaction (idempotent per row). */
  readonly write?: TableWriter
}

/** Which keys of a lookup a record needs: the runtime fetches them all before the batch runs. */
export type LookupKeys<V> = RecordKeys<V>

export interface SinkNode {
  readonly kind: 'sink'
  readonly name: string
  readonly topic: string
  /** Writes the topology's own topic (a DSL `repartition`). */
  readonly internal?: boolean
}

/** One DSL operator inside a processor, for `describe()`: what it is and where its records go next. */
export interface OperatorDescription {
  readonly kind: string
  readonly name: string
  /** The operators it forwards to. */
  readonly next: readonly string[]
  /** Topics, stores and lookups it reads or writes. */
  readonly uses: readonly string[]
}

export interface ProcessorNode {
  readonly kind: 'processor'
  readonly name: string
  readonly sources: readonly string[]
  readonly stores: readonly string[]
  readonly sinks: readonly string[]
  readonly lookups: ReadonlyArray<{ readonly name: string; readonly keys: LookupKeys<unknown> }>
  readonly tables: readonly string[]
  readonly supplier: ProcessorSupplier<unknown>
  readonly onError: ErrorPolicy
  /** Attempts for a record whose processing throws, before the error policy applies. */
  readonly maxAttempts: number
  /** The DSL operators the processor runs, when the DSL compiled it. */
  readonly operators?: readonly OperatorDescription[]
}

export type TopologyNode = SourceNode | StoreNode | SinkNode | LookupNode | TableNode | ProcessorNode

export interface ProcessorOptions<V> {
  sources: string[]
  stores?: string[]
  sinks?: string[]
  lookups?: Record<string, LookupKeys<V>>
  tables?: string[]
  supplier: ProcessorSupplier<V>
  onError?: ErrorPolicy
  maxAttempts?: number
  operators?: OperatorDescription[]
}

/** The header that carries every output's id, unless the application names its own. */
export const DEFAULT_OUTPUT_ID_HEADER = 'streams.output-id'

export interface TopologyOptions {
  /** The header carrying each output's id, which consumers (and de-duplicating sources) read. */
  outputIdHeader?: string
}

export class TopologyBuilder {
  readonly #nodes: TopologyNode[] = []
  readonly applicationId: string
  readonly #options: TopologyOptions

  constructor(applicationId: string, options: TopologyOptions = {}) {
    this.applicationId = applicationId
    this.#options = options
  }

  /**
   * A topic a processor reads. `deduplicate` skips a record whose output id the partition already
   * applied; by default it is on for topics this topology's own sinks write, off for the rest.
   */
  source<V>(
    name: string,
    options: {
      topic: string
      parse: ValueParser<V>
      partitions?: number
      deduplicate?: Deduplicate
      internal?: boolean
      keyOwned?: boolean
    },
  ): this {
    return this.#add({ kind: 'source', name, ...options })
  }

  /**
   * A partition-local key-value store. Eager (the default) loads it whole when a task opens; keyed loads,
   * before each batch, the keys its records need, e.g.
   * `.store<Request>('holders', { loading: 'keyed', keys: (r) => \`${r.couponId}/${r.userId}\` })`.
   */
  store<V = unknown>(name: string, options: StoreOptions<V> = {}): this {
    const type = options.type ?? 'key-value'
    if (options.loading !== 'keyed') return this.#add({ kind: 'store', name, type, loading: 'eager' })
    return this.#add({
      kind: 'store',
      name,
      type,
      loading: 'keyed',
      keys: options.keys as RecordKeys<unknown>,
      maxCachedEntries: options.maxCachedEntries ?? DEFAULT_MAX_CACHED_ENTRIES,
    })
  }

  lookup(name: string, options: { read?: LookupReader } = {}): this {
    return this.#add({ kind: 'lookup', name, ...(options.read ? { read: options.read } : {}) })
  }

  table(name: string, options: { write?: TableWriter } = {}): this {
    return this.#add({ kind: 'table', name, ...(options.write ? { write: options.write } : {}) })
  }

  sink(name: string, options: { topic: string; internal?: boolean }): this {
    return this.#add({ kind: 'sink', name, ...options })
  }

  processor<V>(name: string, options: ProcessorOptions<V>): this {
    return this.#add({
      kind: 'processor',
      name,
      sources: [...options.sources],
      stores: [...(options.stores ?? [])],
      sinks: [...(options.sinks ?? [])],
      lookups: Object.entries(options.lookups ?? {}).map(([lookup, keys]) => ({
        name: lookup,
        keys: keys as LookupKeys<unknown>,
      })),
      tables: [...(options.tables ?? [])],
      supplier: options.supplier as ProcessorSupplier<unknown>,
      onError: options.onError ?? 'dlq',
      maxAttempts: options.maxAttempts ?? 3,
      ...(options.operators ? { operators: options.operators } : {}),
    })
  }

  build(): Topology {
    return new Topology(this.applicationId, this.#nodes, this.#options)
  }

  #add(node: TopologyNode): this {
    this.#nodes.push(deepFreeze(node))
    return this
  }
}

export class Topology {
  readonly nodes: readonly TopologyNode[]
  readonly applicationId: string
  readonly outputIdHeader: string

  constructor(applicationId: string, nodes: TopologyNode[], options: TopologyOptions = {}) {
    this.applicationId = applicationId
    this.outputIdHeader = options.outputIdHeader ?? DEFAULT_OUTPUT_ID_HEADER
    const problems = validate(nodes)
    if (!/^[\x21-\x7e]{1,100}$/.test(this.outputIdHeader))
      problems.push(
        `outputIdHeader: "${this.outputIdHeader}" is not a header name (1-100 visible ASCII characters)`,
      )
    if (problems.length > 0) throw new TopologyError(problems)
    this.nodes = Object.freeze([...nodes])
    Object.freeze(this)
  }

  /** The lookup readers and table writers the topology's processors brought with them, by name. */
  persistence(): { lookups: Record<string, LookupReader>; tables: Record<string, TableWriter> } {
    const lookups: Record<string, LookupReader> = {}
    const tables: Record<string, TableWriter> = {}
    for (const node of this.nodes) {
      if (node.kind === 'lookup' && node.read) lookups[node.name] = node.read
      if (node.kind === 'table' && node.write) tables[node.name] = node.write
    }
    return { lookups, tables }
  }

  get processors(): ProcessorNode[] {
    return this.nodes.filter((n): n is ProcessorNode => n.kind === 'processor')
  }

  node<K extends TopologyNode['kind']>(kind: K, name: string): Extract<TopologyNode, { kind: K }> {
    const found = this.nodes.find((n) => n.kind === kind && n.name === name)
    if (!found) throw new TopologyError([`no ${kind} named "${name}"`])
    return found as Extract<TopologyNode, { kind: K }>
  }

  /** Source topics of a processor: a task of it owns the same partition number of each. */
  sourceTopics(processor: ProcessorNode): string[] {
    return processor.sources.map((s) => this.node('source', s).topic)
  }

  /**
   * The de-duplication window of a source, in offsets, or undefined when its records are not
   * de-duplicated: on by default only where our own outbox writes the topic (a sink of this topology).
   */
  deduplication(source: SourceNode): number | undefined {
    const { deduplicate } = source
    if (deduplicate === false) return undefined
    if (typeof deduplicate === 'object') return deduplicate.window
    if (deduplicate === true) return DEFAULT_DEDUP_WINDOW
    const ours = this.nodes.some((n) => n.kind === 'sink' && n.topic === source.topic)
    return ours ? DEFAULT_DEDUP_WINDOW : undefined
  }

  /**
   * Every topic the topology reads, and every topic it writes (sinks and DLQs); `internal` lists the
   * topology's own topics and their DLQs, which the runtime creates (see `internalTopics`).
   */
  topics(): { inputs: string[]; outputs: string[]; internal: string[] } {
    const inputs = this.nodes.filter((n) => n.kind === 'source').map((n) => n.topic)
    const sinks = this.nodes.filter((n) => n.kind === 'sink').map((n) => n.topic)
    const internal = this.nodes.flatMap((n) => (n.kind === 'source' && n.internal ? [n.topic] : []))
    return {
      inputs: unique(inputs),
      outputs: unique([...sinks, ...inputs.map((t) => `${t}.dlq`)]),
      internal: unique(internal.flatMap((t) => [t, `${t}.dlq`])),
    }
  }

  /**
   * Checks the broker's partition counts: the topics a processor reads share its stores, so they must
   * be co-partitioned (same count), and match any count the topology declares. Returns the problems.
   */
  checkPartitions(partitionCounts: ReadonlyMap<string, number>): string[] {
    const problems: string[] = []
    for (const node of this.nodes) {
      if (node.kind !== 'source') continue
      const count = partitionCounts.get(node.topic)
      if (count === undefined) problems.push(`source "${node.name}": topic "${node.topic}" does not exist`)
      else if (node.partitions !== undefined && count !== node.partitions) {
        problems.push(
          `source "${node.name}": topic "${node.topic}" has ${count} partitions, expected ${node.partitions}`,
        )
      }
    }
    for (const p of this.processors) {
      // A missing topic is reported above; co-partitioning is judged on the topics that exist.
      const counts = new Set(this.sourceTopics(p).flatMap((t) => partitionCounts.get(t) ?? []))
      if (counts.size > 1) {
        problems.push(
          `processor "${p.name}": topics ${this.sourceTopics(p).join(', ')} are not co-partitioned ` +
            `(${this.sourceTopics(p)
              .map((t) => `${t}=${partitionCounts.get(t)}`)
              .join(', ')}), but share its stores`,
        )
      }
    }
    return problems
  }
}

const unique = (xs: string[]) => [...new Set(xs)]

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
