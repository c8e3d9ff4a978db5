/**
 * A batch whose content PostgreSQL refuses (a data error) is not retried for ever: the task splits it,
 * sends the record responsible to the DLQ with the database's cause, and commits the rest.
 * Regression: a store value holding NUL (from a user parser that lets it through) failed the batch
 * commit with "unsupported Unicode escape sequence" on every retry, and the partition never moved on.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../topology/api.ts'
import { TopologyBuilder } from '../../topology/builder.ts'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import type { RawRecord } from '../../topology/record.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let destroy = async () => {}
afterAll(() => destroy())

interface Note {
  text: string
  n: number
}

// A user-written parser that checks nothing: the kind of code the runtime must survive.
const topology = new TopologyBuilder('app')
  .source('notes', { topic: 'notes', parse: (bytes) => JSON.parse(String(bytes)) as Note })
  .store('texts')
  .table('checked')
  .sink('out', { topic: 'echo' })
  .processor<Note>('keeper', {
    sources: ['notes'],
    stores: ['texts'],
    tables: ['checked'],
    sinks: ['out'],
    supplier: () => ({
      process(record, ctx) {
        ctx.store<KeyValueStore<string>>('texts').put(record.key!, record.value.text)
        ctx.write('checked', { n: record.value.n })
        ctx.emit('out', { key: record.key, value: record.value })
      },
    }),
  })
  .build()

const note = (offset: number, text: string, n = offset + 1): RawRecord => ({
  topic: 'notes',
  partition: 0,
  offset: BigInt(offset),
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(JSON.stringify({ text, n })),
  timestamp: 1_000 + offset,
  headers: {},
})

describe('a batch the database refuses', () => {
  it('should send the record responsible to the DLQ with the database error and commit the rest', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    await sql`create table checked_rows (n integer not null check (n > 0))`.execute(db)
    const backend = new PostgresStateBackend(db, {
      tables: {
        checked: async (trx, rows) => {
          for (const row of rows) await sql`insert into checked_rows values (${row.n})`.execute(trx)
        },
      },
    })
    const task = new PartitionTask({
      topology,
      processor: topology.node('processor', 'keeper'),
      partition: 0,
      backend,
      owner: 'test',
      clock: () => 0,
    })
    await task.open(new Map([['notes', 0n]]))

    // Offset 3: jsonb cannot hold \u0000 (SQLSTATE 22P05). Offset 7: the CHECK refuses n = -1 (23514).
    const batch = Array.from({ length: 10 }, (_, i) =>
      i === 3 ? note(i, 'nul \u0000 here') : i === 7 ? note(i, 'fine', -1) : note(i, `text ${i}`),
    )
    const result = await task.runBatch(batch)

    expect(result).toMatchObject({ consumed: 10, dlq: 2, outputs: 8 })
    expect(result.dead).toEqual([
      { topic: 'notes', code: 'COMMIT_REJECTED' },
      { topic: 'notes', code: 'COMMIT_REJECTED' },
    ])
    const offsets = await db.selectFrom('stream_offsets').select('next_offset').execute()
    expect(offsets).toEqual([{ next_offset: '10' }])
    const stored = await db.selectFrom('store_entries').select('key').orderBy('key').execute()
    expect(stored.map((r) => r.key)).toEqual(['k0', 'k1', 'k2', 'k4', 'k5', 'k6', 'k8', 'k9'])
    const { rows: checked } = await sql<{ n: number }>`select n from checked_rows order by n`.execute(db)
    expect(checked.map((r) => r.n)).toEqual([1, 2, 3, 5, 6, 7, 9, 10])

    const outbox = await pendingOutputs(db)
    expect(outbox.filter((r) => r.topic === 'echo')).toHaveLength(8)
    const dead = outbox.filter((r) => r.topic === 'notes.dlq')
    expect(dead.map((r) => Buffer.from(r.value).toString())).toEqual([
      batch[3]!.value!.toString(),
      batch[7]!.value!.toString(),
    ])
    const causes = dead.map((r) => headersAsText(r.headers)['error.message'])
    expect(causes[0]).toContain('SQLSTATE 22P05')
    expect(causes[1]).toContain('SQLSTATE 23514')

    // The partition moved on: the next batch commits normally.
    expect(await task.runBatch([note(10, 'after')])).toMatchObject({ consumed: 1, dlq: 0 })
  })
})
