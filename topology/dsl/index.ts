/** The DSL: a StreamsBuilder, streams, and pipeable operators in Kafka Streams' vocabulary. */

export { KGroupedStream, KStream, type Operator } from './kstream.ts'
export { type AggregateOptions, aggregate } from './operators/aggregate.ts'
export { branch, type Predicate } from './operators/branch.ts'
export { count } from './operators/count.ts'
export { filter } from './operators/filter.ts'
export { flatMap } from './operators/flat-map.ts'
export { groupByKey } from './operators/group-by-key.ts'
export { join } from './operators/join.ts'
export { map } from './operators/map.ts'
export { merge } from './operators/merge.ts'
export {
  type ForwardedRecord,
  type ProcessOptions,
  process,
  type StreamContext,
  type StreamProcessor,
} from './operators/process.ts'
export { repartition } from './operators/repartition.ts'
export { selectKey } from './operators/select-key.ts'
export { to } from './operators/to.ts'
export { type StreamOptions, StreamsBuilder } from './streams-builder.ts'
