/**
 * The ProcessorContext a task gives its processor: the task's stores, the batch's lookups, and where
 * writes and emits go (the batch being built). Declared uses only: anything else is an error naming
 * the processor, and writes and emits outside a record are refused.
 */
import type { ProcessorContext, TableRow } from '../api.ts'
import { StreamsError } from '../errors.ts'
import { partitionForKey } from '../partitioner.ts'
import type { OutputRecord, RecordHeaders, StreamRecord } from '../record.ts'
import type { OutboxRecord, TaskId } from './backend.ts'

export interface TaskContextHost {
  readonly id: TaskId
  readonly clock: () => number
  readonly outputIdHeader: string
  readonly stores: ReadonlyMap<string, unknown>
  readonly tables: ReadonlySet<string>
  /** Sink name → topic. */
  readonly sinks: ReadonlyMap<string, string>
  /** A topic's partition count, when known. */
  readonly partitions: (topic: string) => number | undefined
  /** The current batch's lookups, by name. */
  readonly lookups: () => ReadonlyMap<string, ReadonlyMap<string, unknown>>
  /** The record being processed, if any. */
  readonly current: () => StreamRecord | undefined
  /** The index of the current record's next emit without an id of its own. */
  readonly nextEmitted: () => number
  readonly pushRow: (row: { table: string; row: TableRow }) => void
  readonly pushOutput: (output: OutboxRecord) => void
}

export function createTaskContext(host: TaskContextHost): ProcessorContext {
  const { id } = host
  const undeclared = (what: string, name: string) =>
    new StreamsError('UNDECLARED_USE', `processor "${id.processor}" did not declare ${what} "${name}"`)
  return {
    applicationId: id.applicationId,
    partition: id.partition,
    now: () => host.clock(),
    store: <S>(name: string): S => {
      const store = host.stores.get(name)
      if (!store) throw undeclared('store', name)
      return store as S
    },
    lookup: <V>(name: string) => {
      const data = host.lookups().get(name)
      if (!data) throw undeclared('lookup', name)
      return { get: (key: string) => data.get(key) as V | undefined }
    },
    write: (table: string, row: TableRow): void => {
      if (!host.tables.has(table)) throw undeclared('table', table)
      if (!host.current())
        throw new StreamsError('OUTSIDE_RECORD', 'write() is only allowed while a record is processed')
      host.pushRow({ table, row: Object.freeze({ ...row }) })
    },
    partitionFor: (sink: string, key: string): number | undefined => {
      const topic = host.sinks.get(sink)
      if (!topic) throw undeclared('sink', sink)
      const count = host.partitions(topic)
      return count === undefined ? undefined : partitionForKey(key, count)
    },
    emit: (sink: string, output: OutputRecord): void => {
      const topic = host.sinks.get(sink)
      if (!topic) throw undeclared('sink', sink)
      const source = host.current()
      if (!source)
        throw new StreamsError('OUTSIDE_RECORD', 'emit() is only allowed while a record is processed')
      const headers: RecordHeaders = {
        ...output.headers,
        [host.outputIdHeader]:
          output.id === undefined
            ? `${id.applicationId}/${source.topic}/${source.partition}/${source.offset}/${host.nextEmitted()}`
            : `${id.applicationId}/${topic}/${output.id}`,
      }
      host.pushOutput({
        topic,
        key: output.key === null ? null : Buffer.from(output.key, 'utf8'),
        value: Buffer.from(JSON.stringify(output.value)),
        headers,
      })
    },
  }
}
