import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { countingSetup, pause } from '../support/chaos-fixtures.ts'
import type { Child } from '../support/child.ts'
import { useInfra } from '../support/infra.ts'
import { waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const children: Child[] = []
afterAll(async () => {
  for (const child of children) await child.stop('SIGKILL')
})

type Run = Awaited<ReturnType<typeof countingSetup>>

async function owners(run: Run): Promise<Map<number, { owner: string; epoch: number }>> {
  const { rows } = await sql<{ partition: number; owner: string; epoch: number }>`
    select partition, owner, epoch from stream_tasks where application_id = ${run.applicationId}`.execute(
    run.db,
  )
  return new Map(rows.map((r) => [r.partition, { owner: r.owner, epoch: r.epoch }]))
}

const ownersOf = async (run: Run) => new Set([...(await owners(run)).values()].map((o) => o.owner))

describe('two instances in one group', () => {
  it('should split the partitions, and when one is killed the other takes over with nothing lost or applied twice', async () => {
    const run = await countingSetup(infra)
    await run.produce(300, 50)
    const a = run.start({ MAX_BATCH: '50' })
    const b = run.start({ MAX_BATCH: '50' })
    children.push(a, b)
    await waitUntil('both instances own tasks', async () => (await ownersOf(run)).size === 2, 60_000)
    await waitUntil('progress', async () => (await run.committed()) > 0)
    a.signal('SIGKILL')
    await a.stop()
    await run.produce(300, 50)
    await run.waitForAll()
    expect(await ownersOf(run)).toEqual(new Set(['instance-2']))
    await run.expectExactCounts()
    await run.expectOutputsOnce()
    expect(await b.stop('SIGTERM')).toBe(0)
    await run.close()
  })
})

describe('zombie fencing', () => {
  it('should refuse every commit of an instance frozen past its session once another took its partitions', async () => {
    const run = await countingSetup(infra)
    await run.produce(200, 20)
    const zombie = run.start({ MAX_BATCH: '20' })
    children.push(zombie)
    await waitUntil('zombie owns every task', async () => (await owners(run)).size === 3)
    await waitUntil('progress', async () => (await run.committed()) > 0)
    // Keep records flowing so the zombie has work in hand when it is frozen.
    let producing = true
    const flow = (async () => {
      while (producing) {
        await run.produce(200, 1)
        await pause(50)
      }
    })()
    await pause(500)
    const before = await owners(run)
    zombie.signal('SIGSTOP')
    await pause(4_000) // past the 3 s session timeout: the group drops the zombie
    const heir = run.start({ MAX_BATCH: '20' })
    children.push(heir)
    await waitUntil('the heir claimed every task', async () => {
      const now = await owners(run)
      return [...now].every(([p, o]) => o.owner === 'instance-2' && o.epoch > before.get(p)!.epoch)
    }).catch((error) => {
      throw new Error(`${error.message}\nheir printed:\n${heir.output().slice(-3_000)}`)
    })
    zombie.signal('SIGCONT')
    await waitUntil(
      'the zombie noticed it was fenced',
      async () => zombie.output().includes('task fenced'),
      30_000,
    ).catch((error) => {
      throw new Error(`${error.message}\nzombie printed:\n${zombie.output().slice(-4_000)}`)
    })
    producing = false
    await flow
    await run.waitForAll()
    await run.expectExactCounts()
    await run.expectOutputsOnce()
    // The zombie's refused commits left no trace: counts are exact, and it committed nothing with its old epoch.
    expect(zombie.output()).toMatch(/was taken over by another owner/)
    for (const child of [zombie, heir]) expect(await child.stop('SIGTERM')).toBe(0)
    await run.close()
  })
})
