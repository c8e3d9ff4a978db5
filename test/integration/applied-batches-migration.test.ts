/**
 * Migration 0008 moves a deployed service's applied output ids from stream_applied_ids (a row per id)
 * into stream_applied_batches (a row per batch and topic): the ids a task applied before the upgrade
 * still make it skip their copies after it. Its down migration puts every id back in a row of its own.
 */
import { createHash } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, describe, expect, it } from 'vitest'
import { createDb } from '../../state/db.ts'
import { migrate, streamsMigrations } from '../../topology/postgres/migrations.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { chainTopology, routedRecord } from '../support/chain-topology.ts'
import { useInfra } from '../support/infra.ts'

const infra = useInfra()
let destroy = async () => {}
afterAll(() => destroy())

const sha256 = (id: string) => createHash('sha256').update(id, 'utf8').digest()

const routed = routedRecord

/** Every id of stream_applied_ids, in a comparable order. */
async function oldRows(db: Kysely<unknown>) {
  const { rows } = await sql<{ partition: number; digest: string; record_offset: string }>`
    select partition, encode(digest, 'hex') as digest, record_offset::text from stream_applied_ids
    order by partition, record_offset`.execute(db)
  return rows
}

describe('migration 0008-applied-batches', () => {
  it('should carry the ids applied before the upgrade over, so their copies are still skipped', async () => {
    const db = createDb({ url: infra.databaseUrl })
    destroy = () => db.destroy()
    const before = Object.fromEntries(Object.entries(streamsMigrations).filter(([name]) => name < '0008'))
    await migrate(db as Kysely<unknown>, before)
    const applicationId = infra.name('upgrade')
    // Ids applied by the grouper of partitions 0 (offsets 0-4) and 1, inserted as the old commit did.
    const applied = [0, 1, 2, 3, 4].map((offset) => ({ partition: 0, id: `old-${offset}`, offset }))
    applied.push({ partition: 1, id: 'other-partition', offset: 7 })
    for (const { partition, id, offset } of applied)
      await sql`
        insert into stream_applied_ids (application_id, processor, partition, digest, topic, record_offset)
        values (${applicationId}, 'grouper', ${partition}, ${sha256(id)}, 'mid', ${offset})`.execute(db)
    const expected = await oldRows(db as Kysely<unknown>)

    expect(await migrate(db as Kysely<unknown>)).toEqual(['0008-applied-batches'])
    const { rows } = await sql<{
      gone: boolean
    }>`select to_regclass('stream_applied_ids') is null as gone`.execute(db)
    expect(rows[0]?.gone, 'the old table is dropped').toBe(true)
    const batches = await db
      .selectFrom('stream_applied_batches')
      .select(['partition', 'last_offset', sql<number>`length(digests)`.as('bytes')])
      .orderBy('partition')
      .execute()
    expect(batches, 'one row per task and topic').toEqual([
      { partition: 0, last_offset: '4', bytes: 5 * 32 },
      { partition: 1, last_offset: '7', bytes: 32 },
    ])

    const topology = chainTopology({ applicationId, input: 'in', middle: 'mid', output: 'out' })
    const task = new PartitionTask({
      topology,
      processor: topology.node('processor', 'grouper'),
      partition: 0,
      backend: new PostgresStateBackend(db),
      owner: 'upgraded',
      clock: () => 0,
    })
    await task.open(new Map([['mid', 5n]]))
    expect(task.rememberedIds).toBe(5)
    expect(await task.runBatch([routed(5, 'old-1'), routed(6, 'new')])).toMatchObject({
      consumed: 1,
      duplicates: ['mid'],
    })
    task.close()

    // Down: every id in a row of its own again, those committed since the upgrade included.
    const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...streamsMigrations }) } })
    const { error } = await migrator.migrateDown()
    expect(error).toBeUndefined()
    const back = await oldRows(db as Kysely<unknown>)
    expect(back).toEqual(
      [...expected, { partition: 0, digest: sha256('new').toString('hex'), record_offset: '6' }].sort(
        (a, b) => a.partition - b.partition || Number(a.record_offset) - Number(b.record_offset),
      ),
    )
  })
})
