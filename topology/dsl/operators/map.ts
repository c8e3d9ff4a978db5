/** `map(fn)`: a new value for each record; the key stays (Kafka Streams' `mapValues`). */
import type { StreamRecord } from '../../record.ts'
import type { KStream, Operator } from '../kstream.ts'
import { statelessStep } from './stateless.ts'

export function map<V, W>(fn: (value: V, key: string | null) => W): Operator<KStream<V>, KStream<W>> {
  return (stream) =>
    statelessStep<V, W>(stream, 'map', (record) => [
      record.withValue(fn((record as StreamRecord<V>).value, record.key)),
    ])
}
