/** A one-processor topology that emits every record it processes, unchanged, to `output`. */
import type { ProcessorContext } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import type { StreamRecord } from '../../topology/record.ts'
import { jsonValue } from '../../topology/serde.ts'

export function echoTopology(options: {
  applicationId: string
  input: string
  output: string
  keyOwned?: boolean
}) {
  const { applicationId, input, output, keyOwned = false } = options
  return new TopologyBuilder(applicationId)
    .source('in', { topic: input, parse: jsonValue<number>(), keyOwned })
    .sink('seen', { topic: output })
    .processor<number>('echo', {
      sources: ['in'],
      sinks: ['seen'],
      supplier: () => ({
        process(record: StreamRecord<number>, ctx: ProcessorContext) {
          ctx.emit('seen', { key: record.key, value: record.value })
        },
      }),
    })
    .build()
}
