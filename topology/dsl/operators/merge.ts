/**
 * `merge(...streams)`: one stream of the records of several topics, as Kafka Streams' `KStream.merge`.
 * The merged topics are read by ONE processor — a task per partition sees partition p of every one of
 * them, in each topic's order — so their keys must mean the same thing (co-partitioned: the build and
 * the start-up check their partition counts). It is how an owner hears both its commands and the
 * restore events of its keys, or a saga an order's creation and the replies to its steps.
 *
 * Only source streams merge, before any operator: the records of each then enter the same steps.
 * Give each source's parser a discriminant (`kind`) when the processor must tell them apart.
 *
 * @example
 * const orders = builder.stream('orders', { topic: 'order-created-topic', parse: parseOrder })
 * const replies = builder.stream('replies', { topic: 'saga-replies', internal: true, parse: parseReply })
 * orders.pipe(merge(replies), process(() => new OrderSaga(), { ... }))
 */
import { KStream, type Operator } from '../kstream.ts'

export function merge<V, W extends unknown[]>(
  ...streams: { [K in keyof W]: KStream<W[K]> }
): Operator<KStream<V>, KStream<V | W[number]>> {
  return (stream) => {
    const { graph, segment } = stream
    const into = segment.source.name
    if (stream.step !== segment.root || segment.mergedInto) {
      graph.problems.push(`merge into "${into}": only a source stream merges, before any operator`)
      return stream
    }
    for (const other of streams as ReadonlyArray<KStream<unknown>>) {
      const name = other.segment.source.name
      if (other.graph !== graph) graph.problems.push(`merge "${name}": a stream of another builder`)
      else if (other.segment === segment) graph.problems.push(`merge "${name}": a stream merged with itself`)
      else if (other.segment.mergedInto)
        graph.problems.push(`merge "${name}": already merged into "${other.segment.mergedInto.source.name}"`)
      else if (other.step !== other.segment.root || other.segment.root.children.length > 0)
        graph.problems.push(`merge "${name}": only a source stream merges, before any operator`)
      else {
        segment.merged.push(other.segment.source, ...other.segment.merged)
        other.segment.mergedInto = segment
      }
    }
    return new KStream<V | W[number]>(graph, segment, segment.root)
  }
}
