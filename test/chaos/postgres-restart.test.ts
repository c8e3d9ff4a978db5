import { execSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
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

/** Restarts the PostgreSQL server: PG_RESTART_COMMAND, or this machine's cluster through pg_ctlcluster. */
function restartPostgres(): void {
  const command =
    process.env.PG_RESTART_COMMAND ??
    `pg_ctlcluster --skip-systemctl-redirect ${readdirSync('/etc/postgresql')[0]} main restart --mode fast`
  execSync(command, { stdio: 'inherit', timeout: 60_000 })
}

describe('PostgreSQL restarted mid-run', () => {
  it('should wait while PostgreSQL is down, resume by itself, and keep the counts exact', async () => {
    const run = await countingSetup(infra)
    await run.produce(1_000, 150)
    const child = run.start({ MAX_BATCH: '50' })
    children.push(child)
    await waitUntil('progress', async () => (await run.committed()) > 1_000)
    const beforeRestart = await run.committed()
    restartPostgres()
    const afterRestart = await (async () => {
      let n = 0
      await waitUntil('PostgreSQL answers again', async () => {
        n = await run.committed()
        return true
      })
      return n
    })()
    expect(afterRestart, 'the restart happened mid-run').toBeLessThan(run.total())
    console.info(
      `PostgreSQL restarted at ${beforeRestart} of ${run.total()} records; ${afterRestart} when it answered`,
    )
    await pause(500)
    await run.produce(500, 20)
    await run.waitForAll()
    await run.expectExactCounts()
    await run.expectOutputsOnce()
    // It saw the outage and retried, rather than skipping or crashing.
    expect(child.output()).toMatch(/batch commit failed, retrying|outbox publish failed, retrying/)
    expect(await child.stop('SIGTERM')).toBe(0)
    await run.close()
  })
})
