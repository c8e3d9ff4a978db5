/**
 * `aggregate(store, init, add)`: folds each key's records into a value kept in `store` (loaded by the
 * keys each batch needs), and forwards the new value with the key, as Kafka Streams' aggregate emits
 * its table's updates. A record without a key is dropped, as Kafka Streams drops it. The value is
 * stored frozen: `add` returns a new one.
 */
import type { KeyValueStore } from '../../api.ts'
import type { Step } from '../graph.ts'
import type { KGroupedStream, KStream, Operator } from '../kstream.ts'

export interface AggregateOptions {
  /** Keys kept in memory between batches (default: the store default). */
  maxCachedEntries?: number
}

export function aggregate<V, A>(
  store: string,
  init: () => A,
  add: (aggregate: A, value: V, key: string) => A,
  options: AggregateOptions = {},
): Operator<KGroupedStream<V>, KStream<A>> {
  return (grouped) =>
    grouped.stream.through<A>(aggregateStep(grouped.stream, 'aggregate', store, init, add, options))
}

/** The step of `aggregate` and `count`. */
export function aggregateStep<V, A>(
  stream: KStream<V>,
  kind: string,
  store: string,
  init: () => A,
  add: (aggregate: A, value: V, key: string) => A,
  options: AggregateOptions,
): Step {
  return {
    kind,
    name: stream.graph.name(kind),
    children: [],
    needs: {
      stores: {
        [store]: {
          loading: 'keyed',
          keys: (_value, record) => record.key ?? undefined,
          ...(options.maxCachedEntries !== undefined ? { maxCachedEntries: options.maxCachedEntries } : {}),
        },
      },
    },
    instantiate: () => ({
      process({ record, id }, context, forward) {
        if (record.key === null) return
        const state = context.store<KeyValueStore<A>>(store)
        const next = add(state.get(record.key) ?? init(), record.value as V, record.key)
        state.put(record.key, next)
        forward({ record: record.withValue(next), ...(id !== undefined ? { id } : {}) })
      },
    }),
  }
}
