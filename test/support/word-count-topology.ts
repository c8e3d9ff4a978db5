/**
 * The DSL's multi-processor example: stream(lines) -> flatMap(words) -> selectKey(word) ->
 * repartition('by-word') -> groupByKey -> count('word-counts') -> to(output). Two processors, joined
 * by the internal topic `<applicationId>-by-word`.
 */
import {
  count,
  flatMap,
  groupByKey,
  repartition,
  StreamsBuilder,
  selectKey,
  to,
} from '../../topology/dsl/index.ts'
import { jsonValue } from '../../topology/serde.ts'

export function wordCountTopology(options: { applicationId: string; input: string; output: string }) {
  const builder = new StreamsBuilder(options.applicationId)
  builder.stream('lines', { topic: options.input, parse: jsonValue<string>() }).pipe(
    flatMap((line) => line.split(/\s+/).filter((word) => word.length > 0)),
    selectKey((word) => word.toLowerCase()),
    repartition('by-word'),
    groupByKey(),
    count('word-counts'),
    to(options.output),
  )
  return builder.build()
}

/** How often each word (lower-cased) occurs in `lines`. */
export function expectedCounts(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of lines) {
    for (const word of line.toLowerCase().split(/\s+/))
      if (word) counts.set(word, (counts.get(word) ?? 0) + 1)
  }
  return counts
}
