/**
 * A zombie that keeps its connections: an instance frozen (SIGSTOP) past its session while an heir
 * takes its partitions, then resumed. It must not claim anything back from the assignment it had
 * before the freeze; the group's next assignment decides, the epochs settle, and every count is exact.
 * Child processes, as in the chaos suite, but nothing here restarts a shared service.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { countingSetup, pause } from '../support/chaos-fixtures.ts'
import type { Child } from '../support/child.ts'
import { useInfra } from '../support/infra.ts'
import { waitUntil } from '../support/runtime-fixtures.ts'

const ZOMBIE_SESSION_MS = 1_000
const HEIR_SESSION_MS = 10_000
/** Long enough for the zombie's old code to claim back (one zombie session), well inside the heir's. */
const HEIR_PAUSE_MS = 3_000
const infra = useInfra()
const children: Child[] = []
afterAll(async () => {
  for (const child of children) await child.stop('SIGKILL')
})

type Run = Awaited<ReturnType<typeof countingSetup>>

async function tasks(run: Run): Promise<Map<number, { owner: string; epoch: number }>> {
  const { rows } = await sql<{ partition: number; owner: string; epoch: number }>`
    select partition, owner, epoch from stream_tasks where application_id = ${run.applicationId}`.execute(
    run.db,
  )
  return new Map(rows.map((r) => [r.partition, { owner: r.owner, epoch: r.epoch }]))
}

describe('a zombie instance resumed after its partitions moved', () => {
  it('should not claim them back from its old assignment; epochs settle and counts stay exact', async () => {
    const run = await countingSetup(infra)
    await run.produce(60, 5)
    // A short session for the zombie (it is dropped soon after the freeze) and a long one for the heir
    // (a pause of a few seconds keeps it in the group).
    const zombie = run.start({ MAX_BATCH: '20', SESSION_MS: String(ZOMBIE_SESSION_MS) })
    children.push(zombie)
    await waitUntil('the zombie owns every task', async () => (await tasks(run)).size === 3)
    await run.waitForAll()
    const frozen = await tasks(run)
    zombie.signal('SIGSTOP')
    await pause(ZOMBIE_SESSION_MS + 1_500)
    const heir = run.start({ MAX_BATCH: '20', SESSION_MS: String(HEIR_SESSION_MS) })
    children.push(heir)
    await waitUntil('the heir claimed every task', async () =>
      [...(await tasks(run))].every(([p, t]) => t.owner === 'instance-2' && t.epoch > frozen.get(p)!.epoch),
    )
    // Work the zombie has not seen: when it wakes it fetches it and tries to commit with its old epoch.
    await run.produce(60, 5)
    await run.waitForAll()
    const takenOver = await tasks(run)
    // The heir pauses (within its session) while the zombie wakes, so the zombie's rejoin cannot complete
    // for a while: all it has is the assignment from before its freeze, and it must not act on it.
    heir.signal('SIGSTOP')
    zombie.signal('SIGCONT')
    await waitUntil('the zombie was fenced', async () => zombie.output().includes('task fenced'))
    await pause(HEIR_PAUSE_MS)
    heir.signal('SIGCONT')
    await waitUntil('the zombie rejoined and claimed its new share', async () => {
      const owners = new Set([...(await tasks(run)).values()].map((t) => t.owner))
      return owners.size === 2
    }).catch((error) => {
      throw new Error(`${error.message}\nzombie:\n${zombie.output().slice(-3_000)}`)
    })
    await run.produce(60, 5)
    await run.waitForAll()
    const settled = await tasks(run)
    // A task moved at most once, to the zombie by the new assignment; the heir kept the rest untouched.
    for (const [partition, now] of settled) {
      const before = takenOver.get(partition)!
      const expected = now.owner === 'instance-2' ? before : { owner: 'instance-1', epoch: before.epoch + 1 }
      expect(now, `partition ${partition} (was ${JSON.stringify(before)})`).toEqual(expected)
    }
    await pause(3 * ZOMBIE_SESSION_MS)
    await run.produce(60, 2)
    await run.waitForAll()
    expect(await tasks(run), 'epochs still changing').toEqual(settled)
    await run.expectExactCounts()
    await run.expectOutputsOnce()
    for (const child of [zombie, heir]) expect(await child.stop('SIGTERM')).toBe(0)
    await run.close()
  })
})
