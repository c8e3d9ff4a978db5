/**
 * `process(supplier, { stores, lookups, tables })`: the escape hatch to the Processor API, as Kafka
 * Streams' `KStream.process`. The processor sees each record with a context that has its stores,
 * lookups and tables — declared here, so they travel with it — and `forward`s what the next operator
 * gets. It must be synchronous: whatever it does must land in the batch's commit.
 *
 * @example
 * requests.pipe(
 *   process(() => new CouponIssuer(), { stores: { 'coupon-issued': {} }, lookups: { coupons: (r) => r.couponId } }),
 *   to('coupon-issue-result-topic'),
 * )
 */

import type { ProcessorContext } from '../../api.ts'
import type { RecordKeys, StoreOptions } from '../../builder.ts'
import type { LookupReader, TableWriter } from '../../postgres/state-backend.ts'
import { type RecordHeaders, StreamRecord } from '../../record.ts'
import type { Forward, StepRuntime } from '../graph.ts'
import type { KStream, Operator } from '../kstream.ts'
import { internalTopicName } from './to.ts'

/** What a processor forwards: a new record for the next operator (its headers are only those given). */
export interface ForwardedRecord<W> {
  readonly key: string | null
  readonly value: W
  readonly headers?: RecordHeaders
  /** The output id a later `to` publishes it with (see `OutputRecord.id`). */
  readonly id?: string
}

export interface StreamContext<W> extends ProcessorContext {
  forward(record: ForwardedRecord<W>): void
}

export interface StreamProcessor<V, W> {
  init?(context: ProcessorContext): void
  process(record: StreamRecord<V>, context: StreamContext<W>): void
  close?(): void
}

export interface ProcessOptions<V> {
  /** The step's name in `describe()` (default `process-<n>`). */
  name?: string
  /** Stores the processor owns; a keyed store's `keys` read the record as it reaches the processor. */
  stores?: Readonly<Record<string, StoreOptions<V>>>
  /** Lookups it reads, with the keys each record needs (fetched before the batch runs). */
  lookups?: Readonly<Record<string, RecordKeys<V>>>
  tables?: readonly string[]
  /** How the PostgreSQL backend reads each lookup and writes each table: they travel with the processor. */
  readers?: Readonly<Record<string, LookupReader>>
  writers?: Readonly<Record<string, TableWriter>>
  /**
   * Sinks the processor emits to itself, by name (`ctx.emit(name, { key, value, id })`), for a step
   * whose outputs go to several topics (a saga's commands, replies and events). An internal one is the
   * topology's own topic `<applicationId>-<topic>`, created at start-up.
   */
  sinks?: Readonly<Record<string, string | { readonly topic: string; readonly internal?: boolean }>>
}

export function process<V, W>(
  supplier: () => StreamProcessor<V, W>,
  options: ProcessOptions<V> = {},
): Operator<KStream<V>, KStream<W>> {
  return (stream) =>
    stream.through<W>({
      kind: 'process',
      name: options.name ?? stream.graph.name('process'),
      children: [],
      // The processor may forward any key, and its output depends on its state: no preview.
      rekeys: true,
      needs: {
        stores: (options.stores ?? {}) as Record<string, StoreOptions<unknown>>,
        lookups: (options.lookups ?? {}) as Record<string, RecordKeys<unknown>>,
        tables: options.tables ?? [],
        readers: options.readers ?? {},
        writers: options.writers ?? {},
        sinks: Object.entries(options.sinks ?? {}).map(([name, sink]) => {
          const { topic, internal = false } = typeof sink === 'string' ? { topic: sink } : sink
          return internal
            ? { name, topic: internalTopicName(stream.graph.applicationId, topic), internal }
            : { name, topic }
        }),
      },
      instantiate: () => processRuntime(supplier()),
    })
}

function processRuntime<V, W>(processor: StreamProcessor<V, W>): StepRuntime {
  // The record being processed and where its outputs go: the context is made once per task, not per record.
  let current: { record: StreamRecord<unknown>; forward: Forward } | undefined
  let streamContext: StreamContext<W> | undefined
  const forwardOut = (out: ForwardedRecord<W>): void => {
    if (!current) throw new TypeError('forward() is only allowed while a record is processed')
    const { record, forward } = current
    forward({
      record: new StreamRecord({ ...record, key: out.key, value: out.value, headers: out.headers ?? {} }),
      ...(out.id !== undefined ? { id: out.id } : {}),
    })
  }
  return {
    init: (context) => processor.init?.(context),
    close: () => processor.close?.(),
    process({ record }, context, forward) {
      streamContext ??= Object.assign(Object.create(context) as ProcessorContext, { forward: forwardOut })
      current = { record, forward }
      try {
        const result: unknown = processor.process(record as StreamRecord<V>, streamContext)
        if (result instanceof Promise) throw new TypeError('a DSL processor must be synchronous')
      } finally {
        current = undefined
      }
    },
  }
}
