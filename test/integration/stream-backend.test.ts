import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import type { BatchCommit, TaskId } from '../../topology/runtime/backend.ts'
import { CommitOutcomes, FencedError } from '../../topology/runtime/backend.ts'
import { encodeHeaders } from '../../topology/runtime/header-codec.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let destroy = async () => {}
const cleanupsDb: Array<{ destroy(): Promise<void> }> = []
afterAll(async () => {
  await destroy()
  for (const db of cleanupsDb) await db.destroy()
})

const task: TaskId = { applicationId: 'app', processor: 'p', partition: 1 }

function batch(epoch: number, expected: bigint, over: Partial<BatchCommit> = {}): BatchCommit {
  return {
    task,
    epoch,
    offsets: [{ topic: 'in', expected, next: expected + 2n }],
    stores: [{ store: 's', changes: { puts: [['a', { n: Number(expected) }]], deletes: ['gone'] } }],
    outputs: [
      {
        topic: 'out',
        key: Buffer.from('a'),
        value: Buffer.from([0, 255, 1]),
        headers: { id: `o${expected}` },
      },
    ],
    ...over,
  }
}

async function state(db: Awaited<ReturnType<typeof migratedDb>>) {
  const offsets = await db.selectFrom('stream_offsets').select(['topic', 'next_offset']).execute()
  const entries = await db.selectFrom('store_entries').select(['key', 'value']).orderBy('key').execute()
  const outbox = await pendingOutputs(db)
  return { offsets, entries, outbox }
}

describe('PostgresStateBackend', () => {
  it('should commit offsets, store changes and outputs together, and refuse stale epochs and moved offsets', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const backend = new PostgresStateBackend(db)
    const first = await backend.claim(task, 'one', new Map([['in', 5n]]))
    expect(first).toEqual({ epoch: 1, offsets: new Map([['in', 5n]]) })
    await sql`insert into store_entries values ('app', 's', 1, 'gone', '1'::jsonb)`.execute(db)

    await backend.commit(batch(1, 5n))
    const after = await state(db)
    expect(after.offsets).toEqual([{ topic: 'in', next_offset: '7' }])
    expect(after.entries).toEqual([{ key: 'a', value: { n: 5 } }])
    expect(after.outbox).toEqual([
      {
        topic: 'out',
        key: Buffer.from('a'),
        value: Buffer.from([0, 255, 1]),
        headers: encodeHeaders({ id: 'o5' }),
      },
    ])

    // A replay of the batch that committed (its reply was lost) is recognised and changes nothing.
    await expect(backend.commit(batch(1, 5n))).resolves.toBe(CommitOutcomes.ALREADY_COMMITTED)
    expect(await state(db)).toEqual(after)
    // An offset that moved elsewhere is another batch's doing: refused, changing nothing.
    await expect(backend.commit(batch(1, 4n))).rejects.toThrow(FencedError)
    await expect(
      backend.commit({ ...batch(1, 5n), offsets: [{ topic: 'in', expected: 5n, next: 6n }] }),
    ).rejects.toThrow(/an offset moved/)
    expect(await state(db)).toEqual(after)

    // A second claim fences the first owner; its stored offset survives the claim.
    const second = await backend.claim(task, 'two', new Map([['in', 0n]]))
    expect(second).toEqual({ epoch: 2, offsets: new Map([['in', 7n]]) })
    await expect(backend.commit(batch(1, 7n))).rejects.toThrow(/epoch 1 is no longer current/)
    // A replay from a fenced epoch is not ours any more, even where the offsets match it.
    await expect(backend.commit(batch(1, 5n))).rejects.toThrow(/epoch 1 is no longer current/)
    expect(await state(db)).toEqual(after)
    await expect(backend.commit(batch(2, 7n))).resolves.toBe(CommitOutcomes.COMMITTED)
    expect((await state(db)).offsets).toEqual([{ topic: 'in', next_offset: '9' }])
    expect((await backend.loadStore(task, 's')).sort()).toEqual([['a', { n: 7 }]])
  })

  it('should not write a replayed batch table rows again', async () => {
    const db = await migratedDb(infra.databaseUrl)
    cleanupsDb.push(db)
    const t3: TaskId = { ...task, partition: 3 }
    const written: unknown[] = []
    const backend = new PostgresStateBackend(db, {
      tables: { rows: async (_trx, rows) => void written.push(...rows) },
    })
    await backend.claim(t3, 'one', new Map([['in', 0n]]))
    const withRows = { ...batch(1, 0n), task: t3, tables: [{ table: 'rows', rows: [{ x: 1 }] }] }
    await expect(backend.commit(withRows)).resolves.toBe(CommitOutcomes.COMMITTED)
    await expect(backend.commit(withRows)).resolves.toBe(CommitOutcomes.ALREADY_COMMITTED)
    expect(written).toEqual([{ x: 1 }])
  })

  it('should roll a batch with table rows back whole when a table writer fails', async () => {
    const db = await migratedDb(infra.databaseUrl)
    const t2: TaskId = { ...task, partition: 2 }
    const backend = new PostgresStateBackend(db as never, {
      tables: {
        broken: async () => {
          throw new Error('writer failed')
        },
      },
    })
    await backend.claim(t2, 'one', new Map([['in', 0n]]))
    await expect(
      backend.commit({ ...batch(1, 0n), task: t2, tables: [{ table: 'broken', rows: [{ x: 1 }] }] }),
    ).rejects.toThrow('writer failed')
    const offsets = await db
      .selectFrom('stream_offsets')
      .select('next_offset')
      .where('partition', '=', 2)
      .executeTakeFirstOrThrow()
    expect(offsets.next_offset).toBe('0')
    await db.destroy()
  })
})
