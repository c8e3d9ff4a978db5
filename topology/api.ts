/**
 * The public processor API, as in Kafka Streams' `processor/api`: a processor sees records of one
 * partition in order, its stores and a context to emit through — never the consumer, the pool or the
 * transaction. The runtime (or the TopologyTestDriver) does the rest, the same way for every processor.
 */
import type { OutputRecord, StreamRecord } from './record.ts'

export interface ProcessorContext {
  readonly applicationId: string
  /** The partition this processor instance owns (of every source topic it reads). */
  readonly partition: number
  /** Milliseconds since the epoch: the wall clock at run time, the driver's clock in tests. */
  now(): number
  /** A store declared for this processor; throws for an undeclared one. */
  store<S = KeyValueStore<unknown>>(name: string): S
  /** Sends a record to a declared sink. It is published only if the batch commits. */
  emit(sink: string, record: OutputRecord): void
  /**
   * The partition a record emitted to `sink` with `key` will land on (the relay partitions keys as the
   * Java producer does), or undefined when the sink topic's partition count is unknown (the runtime
   * knows the counts of the topics the topology reads, its internal ones included). For batching by
   * owner: a saga can send one command per partition of the owners' topic instead of one per key.
   */
  partitionFor(sink: string, key: string): number | undefined
  /**
   * Reference data declared as a lookup: the runtime fetched every key this batch's records name
   * (through the processor's key extractor) before the batch started. A missing key reads undefined.
   */
  lookup<V>(name: string): Lookup<V>
  /** Writes a row to a declared table, in the batch's transaction. */
  write(table: string, row: TableRow): void
}

export interface Lookup<V> {
  get(key: string): V | undefined
}

export type TableRow = Readonly<Record<string, unknown>>

export interface Processor<V = unknown> {
  /** Called once per partition assignment, after the stores are loaded. */
  init?(context: ProcessorContext): void
  /**
   * Called for each record, in partition order. May be async (e.g. an idempotent call to an external
   * system); state changes go to stores, which commit with the batch. Throwing rejects the record to
   * the error policy; the batch's earlier records still commit.
   */
  process(record: StreamRecord<V>, context: ProcessorContext): void | Promise<void>
  /** Called when the partition is revoked or the runtime stops. */
  close?(): void
}

/** Returns a fresh processor for each partition. */
export type ProcessorSupplier<V = unknown> = () => Processor<V>

/**
 * Partition-local key-value state. Reads and writes are in memory; the runtime persists the batch's
 * changes in the batch's transaction. An eager store is loaded whole on assignment; a keyed store holds
 * only the keys its key function declared for the batch (reading another throws a StoreError; writing
 * one is fine) and cannot list its entries. Values are JSON data and are frozen once stored: to change
 * one, put a new value (`store.put(k, { ...old, n: old.n + 1 })`).
 */
export interface KeyValueStore<V> {
  get(key: string): V | undefined
  has(key: string): boolean
  put(key: string, value: V): void
  delete(key: string): void
  entries(): IterableIterator<[string, V]>
  readonly size: number
}

/** Parses a source record's bytes; throw a `RecordError` to send the record to the DLQ. */
export type ValueParser<V> = (value: Buffer | null, key: string | null) => V

/** What happens to a record whose processing throws, after the retries. */
export const ErrorPolicies = {
  /** Send the record to `<topic>.dlq` with the error, and carry on with the partition. */
  DLQ: 'dlq',
  /** Stop processing the partition (readiness reports it) until the process restarts. */
  STOP: 'stop',
} as const
export type ErrorPolicy = (typeof ErrorPolicies)[keyof typeof ErrorPolicies]
