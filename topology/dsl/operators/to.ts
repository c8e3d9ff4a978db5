/**
 * `to(topic)`: publishes each record to a topic, through the outbox, when its batch commits; ends the
 * pipe. Another stream of the topology may read the topic (several processors chained through it).
 * The record's headers go with it; its output id is the one a `process` step gave it, else its
 * source record's position and ordinal (see `OutputRecord.id`).
 */
import type { Step } from '../graph.ts'
import type { KStream, Operator } from '../kstream.ts'

export function to<V>(
  topic: string,
  options: { name?: string; internal?: boolean } = {},
): Operator<KStream<V>, void> {
  return (stream) => {
    const internal = options.internal === true
    const full = internal ? internalTopicName(stream.graph.applicationId, topic) : topic
    stream.through(sinkStep(stream, 'to', options.name ?? `to-${full}`, full, internal))
  }
}

/** An internal topic's name: the application's id, then the short name (Kafka Streams' convention). */
export const internalTopicName = (applicationId: string, name: string) => `${applicationId}-${name}`

/** A step that emits every record it gets to one sink: `to`'s and `repartition`'s. */
export function sinkStep<V>(
  stream: KStream<V>,
  kind: string,
  sink: string,
  topic: string,
  internal: boolean,
): Step {
  return {
    kind,
    name: stream.graph.name(kind),
    children: [],
    preview: () => [],
    needs: { sinks: [{ name: sink, topic, ...(internal ? { internal } : {}) }] },
    instantiate: () => ({
      process({ record, id }, context) {
        context.emit(sink, {
          key: record.key,
          value: record.value,
          headers: record.headers,
          ...(id !== undefined ? { id } : {}),
        })
      },
    }),
  }
}
