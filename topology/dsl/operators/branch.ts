/**
 * `branch({ name: predicate, ... })`: splits a stream into named streams, as Kafka Streams' `split()`.
 * Each record goes to the first branch whose predicate holds (in the order they are written) and to
 * no other; a record no predicate holds for is dropped. It ends the pipe, returning the branches:
 *
 * @example
 * const { big, small } = orders.pipe(branch({ big: (o) => o.qty >= 10, small: () => true }))
 * big.pipe(to('big-orders'))
 */
import type { StreamRecord } from '../../record.ts'
import { passThrough, type Step, UNCHANGED } from '../graph.ts'
import type { KStream, Operator } from '../kstream.ts'

export type Predicate<V> = (value: V, key: string | null) => boolean

export function branch<V, K extends string>(
  branches: Readonly<Record<K, Predicate<V>>>,
): Operator<KStream<V>, Record<K, KStream<V>>> {
  return (stream) => {
    const entries = Object.entries(branches) as Array<[K, Predicate<V>]>
    const firstMatch = (record: StreamRecord<unknown>) =>
      entries.findIndex(([, predicate]) => predicate(record.value as V, record.key))
    const name = stream.graph.name('branch')
    const step: Step = {
      kind: 'branch',
      name,
      children: [],
      preview: UNCHANGED,
      instantiate: () => ({
        process(input, _context, forward) {
          const arm = firstMatch(input.record)
          if (arm >= 0) forward(input, arm)
        },
      }),
    }
    const parent = stream.through<V>(step)
    const arms = entries.map(([arm], i) => {
      const armStep = passThrough('branch-arm', `${name}-${arm}`, (record) =>
        firstMatch(record) === i ? [record] : [],
      )
      return [arm, parent.through<V>(armStep)] as const
    })
    return Object.fromEntries(arms) as Record<K, KStream<V>>
  }
}
