/** `filter(predicate)`: keeps the records the predicate holds for, as RxJS's and Kafka Streams' filter. */
import type { StreamRecord } from '../../record.ts'
import type { KStream, Operator } from '../kstream.ts'
import { statelessStep } from './stateless.ts'

export function filter<V>(
  predicate: (value: V, key: string | null) => boolean,
): Operator<KStream<V>, KStream<V>> {
  return (stream) =>
    statelessStep<V, V>(stream, 'filter', (record) =>
      predicate((record as StreamRecord<V>).value, record.key) ? [record] : [],
    )
}
