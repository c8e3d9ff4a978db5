/** One summing processor on a PartitionTask over the MemoryBackend: the fixtures of the task's unit tests. */
import type { KeyValueStore, Processor, ProcessorContext } from '../../topology/api.ts'
import { type ProcessorOptions, TopologyBuilder } from '../../topology/builder.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import { RecordError } from '../../topology/errors.ts'
import type { RawRecord, StreamRecord } from '../../topology/record.ts'
import type { TaskId } from '../../topology/runtime/backend.ts'
import { PartitionTask, type TaskOptions } from '../../topology/runtime/task.ts'
import { jsonValue } from '../../topology/serde.ts'

export interface Order {
  item: string
  qty: number
}

export const parseOrder = jsonValue<Order>((v) => {
  const o = v as Partial<Order>
  if (typeof o?.qty !== 'number') throw new RecordError('VALIDATION_FAILED', 'qty: must be a number')
  return o as Order
})

/** One processor reading `orders`, with a `totals` store and an `out` sink. */
export const topologyOf = (
  process: Processor<Order>['process'],
  options: Partial<ProcessorOptions<Order>> = {},
) =>
  new TopologyBuilder('app')
    .source('orders', { topic: 'orders', parse: parseOrder })
    .store('totals')
    .sink('out', { topic: 'totals' })
    .processor<Order>('summer', {
      sources: ['orders'],
      stores: ['totals'],
      sinks: ['out'],
      supplier: () => ({ process }),
      ...options,
    })
    .build()

/** Adds qty to the key's total and emits the new total. */
export const sum = (record: StreamRecord<Order>, context: ProcessorContext) => {
  const totals = context.store<KeyValueStore<number>>('totals')
  const total = (totals.get(record.key!) ?? 0) + record.value.qty
  totals.put(record.key!, total)
  context.emit('out', { key: record.key, value: { total } })
}

export const raw = (offset: number, value: string | Buffer, key = 'k'): RawRecord => ({
  topic: 'orders',
  partition: 0,
  offset: BigInt(offset),
  key: Buffer.from(key),
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  timestamp: 1_000 + offset,
  headers: { trace: `t${offset}` },
})
export const order = (offset: number, qty: number, key = 'k') =>
  raw(offset, JSON.stringify({ item: 'x', qty }), key)

export const TASK: TaskId = { applicationId: 'app', processor: 'summer', partition: 0 }

/** The `summer` task on partition 0, open; `options` replace the defaults (no pause between attempts). */
export async function openTask(
  topology: ReturnType<typeof topologyOf>,
  backend = new MemoryBackend(),
  options: Pick<TaskOptions, 'observer' | 'partitions'> = {},
) {
  const task = new PartitionTask({
    topology,
    processor: topology.node('processor', 'summer'),
    partition: 0,
    backend,
    owner: 'test',
    clock: () => 0,
    pause: async () => {},
    ...options,
  })
  await task.open(new Map([['orders', 0n]]))
  return { task, backend, totals: backend.storeView<number>(TASK, 'totals') }
}

export const outputs = (backend: MemoryBackend, topic = 'totals') =>
  backend.outbox.filter((o) => o.topic === topic)
export const values = (backend: MemoryBackend) => outputs(backend).map((o) => JSON.parse(o.value.toString()))
