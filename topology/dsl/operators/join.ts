/**
 * `join(lookup, keyOf, joiner)`: joins each record with the lookup's entry for `keyOf(value, key)`,
 * as Kafka Streams joins a stream with a GlobalKTable: the reference data is not partitioned, so no
 * co-partitioning is needed. An inner join: a record with no entry (or no key) is dropped. The entries
 * a batch needs are fetched before it runs.
 */
import type { KStream, Operator } from '../kstream.ts'

export function join<V, R, W>(
  lookup: string,
  keyOf: (value: V, key: string | null) => string | undefined,
  joiner: (value: V, reference: R, key: string | null) => W,
): Operator<KStream<V>, KStream<W>> {
  return (stream) =>
    stream.through<W>({
      kind: 'join',
      name: stream.graph.name('join'),
      children: [],
      needs: { lookups: { [lookup]: (value, record) => keyOf(value as V, record.key) } },
      instantiate: () => ({
        process({ record, id }, context, forward) {
          const value = record.value as V
          const key = keyOf(value, record.key)
          const reference = key === undefined ? undefined : context.lookup<R>(lookup).get(key)
          if (reference === undefined) return
          const joined = record.withValue(joiner(value, reference, record.key))
          forward({ record: joined, ...(id !== undefined ? { id } : {}) })
        },
      }),
    })
}
