/**
 * The shape every stateless operator shares: a pure function from one record to the records it
 * forwards. The same function is the step's preview, so later steps' keys can be fetched before a
 * batch runs. An output id a `process` step gave a record stays with it; split into several records
 * by `flatMap`, each gets its own (`<id>/<index>`), so ids stay unique within a sink.
 */
import { StreamRecord } from '../../record.ts'
import type { Step } from '../graph.ts'
import type { KStream } from '../kstream.ts'

export type Expand = (record: StreamRecord<unknown>) => StreamRecord<unknown>[]

export function statelessStep<V, W>(
  stream: KStream<V>,
  kind: string,
  expand: Expand,
  options: { rekeys?: boolean; splits?: boolean } = {},
): KStream<W> {
  const step: Step = {
    kind,
    name: stream.graph.name(kind),
    children: [],
    ...(options.rekeys ? { rekeys: true } : {}),
    preview: expand,
    instantiate: () => ({
      process(input, _context, forward) {
        const out = expand(input.record)
        for (const [i, record] of out.entries()) {
          if (input.id === undefined) forward({ record })
          else forward({ record, id: options.splits ? `${input.id}/${i}` : input.id })
        }
      },
    }),
  }
  return stream.through<W>(step)
}

/** The record with another key; everything else (value, timestamp, headers, position) stays. */
export const withKey = <V>(record: StreamRecord<V>, key: string | null): StreamRecord<V> =>
  new StreamRecord({ ...record, key })
