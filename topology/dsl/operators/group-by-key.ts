/**
 * `groupByKey()`: groups a stream by its key for `count` or `aggregate`. The state of a key lives in
 * one task, so the stream must already be partitioned by that key: after `selectKey` (or a `process`
 * that may re-key), `repartition` first — building the topology reports it otherwise.
 */
import { KGroupedStream, type KStream, type Operator } from '../kstream.ts'

export function groupByKey<V>(): Operator<KStream<V>, KGroupedStream<V>> {
  return (stream) => {
    const rekeyed = [...stream.graph.ancestors(stream.step), stream.step].find((s) => s.rekeys)
    if (rekeyed) {
      stream.graph.problems.push(
        `groupByKey after ${rekeyed.kind} "${rekeyed.name}": records of a key may be on other partitions; ` +
          'repartition(name) first',
      )
    }
    return new KGroupedStream(stream)
  }
}
