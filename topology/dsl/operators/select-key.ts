/**
 * `selectKey(fn)`: a new key for each record. The record stays on its partition: to group or count by
 * the new key, `repartition` first, so every record of a key reaches the one task that holds its state.
 */
import type { StreamRecord } from '../../record.ts'
import type { KStream, Operator } from '../kstream.ts'
import { statelessStep, withKey } from './stateless.ts'

export function selectKey<V>(
  fn: (value: V, key: string | null) => string | null,
): Operator<KStream<V>, KStream<V>> {
  return (stream) =>
    statelessStep<V, V>(
      stream,
      'select-key',
      (record) => [withKey(record, fn((record as StreamRecord<V>).value, record.key))],
      { rekeys: true },
    )
}
