/**
 * The DSL's entry point, as Kafka Streams' `StreamsBuilder`: declare source streams, pipe operators
 * onto them, then `build()` a Topology.
 *
 * @example
 * const builder = new StreamsBuilder('word-count')
 * builder
 *   .stream('lines', { topic: 'lines', parse: jsonValue<string>() })
 *   .pipe(
 *     flatMap((line) => line.split(' ')),
 *     selectKey((word) => word),
 *     repartition('by-word'),
 *     groupByKey(),
 *     count('word-counts'),
 *     to('word-counts-topic'),
 *   )
 * const topology = builder.build()
 */
import type { ErrorPolicy, ValueParser } from '../api.ts'
import type { Deduplicate, Topology, TopologyOptions } from '../builder.ts'
import { compile } from './compile.ts'
import { type SegmentOptions, StreamsGraph } from './graph.ts'
import { KStream } from './kstream.ts'
import { internalTopicName } from './operators/to.ts'

export interface StreamOptions<V> {
  topic: string
  parse: ValueParser<V>
  /** Partitions the topic must have (checked at start-up). */
  partitions?: number
  /**
   * The topology's own topic: `topic` is then a short name, the topic is `<applicationId>-<topic>`,
   * created at start-up (sized like a `repartition`'s) and listed as internal. For topics processors of
   * this topology talk through, e.g. commands to an owner and its replies.
   */
  internal?: boolean
  /** Skip records whose output id the partition already applied (default: on where this topology writes the topic). */
  deduplicate?: Deduplicate
  /**
   * Each key is owned by one partition (the Java partitioner's): a record on another goes to the DLQ as
   * WRONG_PARTITION rather than giving its key a second owner. For topics other producers write.
   */
  keyOwned?: boolean
  /** The compiled processor's name (default `<name>-processor`): task names and stored offsets use it. */
  processor?: string
  /** What happens to a record whose processing throws, after the retries (default: DLQ). */
  onError?: ErrorPolicy
  maxAttempts?: number
}

export class StreamsBuilder {
  readonly #graph: StreamsGraph
  readonly #options: TopologyOptions

  constructor(applicationId: string, options: TopologyOptions = {}) {
    this.#graph = new StreamsGraph(applicationId)
    this.#options = options
  }

  /** The records of a topic; each stream read from a topic becomes one processor, a task per partition. */
  stream<V>(name: string, options: StreamOptions<V>): KStream<V> {
    const { topic, parse, partitions, deduplicate, internal, keyOwned, ...rest } = options
    const segment = this.#graph.addSegment(
      {
        name,
        topic: internal ? internalTopicName(this.#graph.applicationId, topic) : topic,
        parse,
        ...(internal ? { internal: true } : {}),
        ...(partitions !== undefined ? { partitions } : {}),
        ...(deduplicate !== undefined ? { deduplicate } : {}),
        ...(keyOwned ? { keyOwned: true } : {}),
      },
      rest satisfies SegmentOptions,
    )
    return new KStream<V>(this.#graph, segment, segment.root)
  }

  /** Compiles the streams to a Topology; throws a TopologyError listing every problem. */
  build(): Topology {
    return compile(this.#graph, this.#options)
  }
}
