/**
 * The storage-ceiling scenario (in a child process of its own): PostgreSQL's commit path alone —
 * PostgresStateBackend.commit of synthetic batches shaped like the counting topology's (one store
 * upsert per record, the outputs as one outbox batch row), one concurrent committer per partition, no Kafka, no
 * processing, no relay: the most this storage design allows here, whatever the runtime does. (It
 * bypasses the StreamsApp facade on purpose: the facade is what it is the ceiling of.)
 */
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { createDb } from '../../../state/db.ts'
import { PostgresStateBackend } from '../../../topology/postgres/state-backend.ts'
import type { OutboxRecord, TaskId } from '../../../topology/runtime/backend.ts'
import type { PhaseBase } from '../harness/infra.ts'
import { type CpuUse, cpuMeter, quantile } from '../harness/measure.ts'
import { childPhase } from '../harness/phase.ts'

export interface StorageConfig extends PhaseBase {
  applicationId: string
  input: string
  total: number
  partitions: number
  maxBatch: number
}

export interface StorageResult {
  records: number
  seconds: number
  commitP50Ms: number
  commitP99Ms: number
  cpu: CpuUse
}

export const storageCeiling = childPhase(import.meta.url, 'storageCeiling', commitBatches)

async function commitBatches(config: StorageConfig): Promise<StorageResult> {
  const db = createDb({ url: config.databaseUrl })
  const backend = new PostgresStateBackend(db)
  const { total, partitions, applicationId, input, maxBatch } = config
  const output = `${applicationId}-unpublished`
  const perTask = Math.ceil(total / partitions)
  const timings: number[] = []
  const run = async (partition: number) => {
    const task: TaskId = { applicationId, processor: 'counter', partition }
    const claim = await backend.claim(task, 'storage-ceiling', new Map([[input, 0n]]))
    const counts = new Map<string, number>()
    let offset = 0n
    for (let done = 0; done < perTask; ) {
      const size = Math.min(maxBatch, perTask - done)
      const puts = new Map<string, number>()
      const outputs: OutboxRecord[] = []
      for (let j = 0; j < size; j++) {
        const key = `k${((done + j) * partitions + partition) % 10_000}`
        const count = (counts.get(key) ?? 0) + 1
        counts.set(key, count)
        puts.set(key, count)
        outputs.push({
          topic: output,
          key: Buffer.from(key),
          value: Buffer.from(JSON.stringify({ key, count })),
          headers: { 'streams.output-id': `${applicationId}/${input}/${partition}/${offset + BigInt(j)}/0` },
        })
      }
      const started = performance.now()
      await backend.commit({
        task,
        epoch: claim.epoch,
        offsets: [{ topic: input, expected: offset, next: offset + BigInt(size) }],
        stores: [{ store: 'counts', changes: { puts: [...puts], deletes: [] } }],
        outputs,
      })
      timings.push(performance.now() - started)
      offset += BigInt(size)
      done += size
    }
  }
  const cpu = cpuMeter(config.database)
  const started = performance.now()
  await Promise.all(Array.from({ length: partitions }, (_, p) => run(p)))
  const seconds = (performance.now() - started) / 1000
  const cpuUse = cpu.stop()
  // Nothing publishes these rows (no relay runs here): remove them before a runtime's relay would.
  await sql`delete from outbox_batches`.execute(db)
  await sql`delete from store_entries where application_id = ${applicationId}`.execute(db)
  await db.destroy()
  return {
    records: perTask * partitions,
    seconds,
    commitP50Ms: quantile(timings, 0.5),
    commitP99Ms: quantile(timings, 0.99),
    cpu: cpuUse,
  }
}
