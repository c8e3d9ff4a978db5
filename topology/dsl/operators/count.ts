/** `count(store)`: counts each key's records in `store` and forwards the new count (see `aggregate`). */
import type { KGroupedStream, KStream, Operator } from '../kstream.ts'
import { type AggregateOptions, aggregateStep } from './aggregate.ts'

export function count<V>(
  store: string,
  options: AggregateOptions = {},
): Operator<KGroupedStream<V>, KStream<number>> {
  return (grouped) =>
    grouped.stream.through<number>(
      aggregateStep<V, number>(
        grouped.stream,
        'count',
        store,
        () => 0,
        (n) => n + 1,
        options,
      ),
    )
}
