/**
 * `repartition(name)`: sends the stream through the internal topic `<applicationId>-<name>`, which the
 * producer partitions by the record key, and continues from that topic in a new processor. After a
 * `selectKey`, every record of a key then reaches one task, which is what `groupByKey` needs. The
 * runtime creates the topic at start-up with `partitions`, or the most partitions among its upstream
 * topics.
 */
import { jsonValue } from '../../serde.ts'
import { KStream, type Operator } from '../kstream.ts'
import { internalTopicName, sinkStep } from './to.ts'

export function repartition<V>(
  name: string,
  options: { partitions?: number } = {},
): Operator<KStream<V>, KStream<V>> {
  return (stream) => {
    const { graph, segment } = stream
    const topic = internalTopicName(graph.applicationId, name)
    stream.through(sinkStep(stream, 'repartition', `${name}-sink`, topic, true))
    const { onError, maxAttempts } = segment.options
    const next = graph.addSegment(
      {
        name,
        topic,
        parse: jsonValue(),
        internal: true,
        ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
      },
      // The error policy carries over; the processor's name is the repartition's own.
      { ...(onError ? { onError } : {}), ...(maxAttempts !== undefined ? { maxAttempts } : {}) },
    )
    return new KStream<V>(graph, next, next.root)
  }
}
