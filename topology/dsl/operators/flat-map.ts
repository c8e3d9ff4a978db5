/** `flatMap(fn)`: zero or more values for each record, each a record of its own with the same key. */
import type { StreamRecord } from '../../record.ts'
import type { KStream, Operator } from '../kstream.ts'
import { statelessStep } from './stateless.ts'

export function flatMap<V, W>(
  fn: (value: V, key: string | null) => Iterable<W>,
): Operator<KStream<V>, KStream<W>> {
  return (stream) =>
    statelessStep<V, W>(
      stream,
      'flat-map',
      (record) =>
        [...fn((record as StreamRecord<V>).value, record.key)].map((value) => record.withValue(value)),
      { splits: true },
    )
}
