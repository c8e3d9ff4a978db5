/**
 * Idempotent consumption on the real PostgreSQL backend: the ids a task applied are committed with its
 * state, so a re-sent copy is skipped by the next owner too (a restart) and after a retry whose first
 * attempt had committed; the window stays bounded in memory and in the table; and any header, however
 * hostile, can serve as an id.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import type { Topology } from '../../topology/builder.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import type { StateBackend } from '../../topology/runtime/backend.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { chainTopology, groupOf, routedRecord } from '../support/chain-topology.ts'
import { useInfra } from '../support/infra.ts'
import { LostReplyError, ProbeBackend } from '../support/probe-backend.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let destroy = async () => {}
afterAll(() => destroy())

const GROUP = groupOf('key-1')

const routed = routedRecord

async function grouper(topology: Topology, backend: StateBackend, owner: string) {
  const task = new PartitionTask({
    topology,
    processor: topology.node('processor', 'grouper'),
    partition: 0,
    backend,
    owner,
    clock: () => 0,
  })
  await task.open(new Map([['mid', 0n]]))
  return task
}

describe('idempotent consumption on PostgreSQL', () => {
  it('should skip copies of applied ids after a restart, and keep the remembered ids within the window', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const applicationId = infra.name('dedup')
    const topology = chainTopology({
      applicationId,
      input: 'in',
      middle: 'mid',
      output: 'out',
      deduplicate: { window: 8 },
    })
    const backend = new PostgresStateBackend(db)
    // Ids our own outbox never makes, but a header can hold: a NUL (PostgreSQL text refuses it) and 10 kB
    // (above what a btree index entry takes). Stored as digests, they work like any other.
    const hostile = ['nul\u0000id', 'x'.repeat(10_000)]
    const ids = [...hostile, ...Array.from({ length: 4 }, (_, i) => `app/in/0/${i}/0`)]

    const first = await grouper(topology, backend, 'one')
    expect(await first.runBatch(ids.map((id, i) => routed(i, id)))).toMatchObject({
      consumed: 6,
      duplicates: [],
    })
    first.close()

    // A restart: a new owner claims the task and loads the window once, from the rows committed.
    const second = await grouper(topology, backend, 'two')
    expect(second.rememberedIds).toBe(6)
    const copies = [routed(6, ids[0]!), routed(7, ids[1]!), routed(8, ids[5]!), routed(9, 'new')]
    const result = await second.runBatch(copies)
    expect(result).toMatchObject({ consumed: 1, duplicates: ['mid', 'mid', 'mid'] })
    // The count as committed (the DSL's count store is keyed: it is read per batch, not browsed).
    const counted = async () => {
      const { rows } = await sql<{ value: number }>`
        select value from store_entries
        where application_id = ${applicationId} and store = 'group-counts' and key = ${GROUP}`.execute(db)
      return rows[0]?.value
    }
    expect(await counted()).toBe(7)
    expect(second.positions.get('mid'), 'the offsets moved past the copies').toBe(10n)

    // One row per batch: the ids (8 offset bytes each) and the offset of its last one.
    const stored = async () => {
      const { rows } = await sql<{ rows: number; ids: number; last: string }>`
        select count(*)::int as rows, sum(length(offsets) / 8)::int as ids, min(last_offset)::text as last
        from stream_applied_batches where application_id = ${applicationId}`.execute(db)
      return rows[0]!
    }
    // Window 8 at next offset 10: in memory, ids of records before offset 2 are forgotten (the two
    // hostile ones); the first batch's row (offsets 0-5) stays while any of its ids is inside.
    expect(second.rememberedIds).toBe(5)
    expect(await stored()).toEqual({ rows: 2, ids: 7, last: '5' })

    // A copy of a forgotten id is applied again: the window's documented bound.
    await second.runBatch([
      routed(10, ids[0]!),
      ...Array.from({ length: 20 }, (_, i) => routed(11 + i, `more-${i}`)),
    ])
    expect(await counted()).toBe(7 + 21)
    // At next offset 31 the window starts at 23: only the last batch's row is left, and it holds only
    // its ids from offset 23 on (a batch longer than the window stores none it would forget at once).
    expect(await stored()).toEqual({ rows: 1, ids: 8, last: '30' })
    expect(second.rememberedIds).toBe(8)
    const third = await grouper(topology, backend, 'three')
    expect(third.rememberedIds, 'the window loads as it was in memory').toBe(8)
    third.close()
    second.close()
  })

  it('should remember the ids of a batch whose reply was lost and whose retry found it committed', async () => {
    const db = await migratedDb(infra.databaseUrl)
    const previous = destroy
    destroy = async () => {
      await previous()
      await db.destroy()
    }
    const topology = chainTopology({
      applicationId: infra.name('dedup-lost'),
      input: 'in',
      middle: 'mid',
      output: 'out',
    })
    const backend = new ProbeBackend(new PostgresStateBackend(db))
    const task = await grouper(topology, backend, 'one')
    const batch = [routed(0, 'a'), routed(1, 'b')]
    backend.loseReplies = 1
    await expect(task.runBatch(batch), 'committed, but the reply was lost').rejects.toThrow(LostReplyError)
    expect(task.rememberedIds, 'nothing is remembered of a batch whose commit failed').toBe(0)
    // The runner retries the same batch: PostgreSQL answers ALREADY_COMMITTED, and the task takes the
    // window as that attempt committed it.
    expect(await task.runBatch(batch)).toMatchObject({ consumed: 2 })
    expect(task.rememberedIds).toBe(2)
    expect(await task.runBatch([routed(2, 'a'), routed(3, 'c')])).toMatchObject({
      consumed: 1,
      duplicates: ['mid'],
    })
    task.close()
  })
})
