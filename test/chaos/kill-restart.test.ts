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

describe('exactly-once effects under kill -9', () => {
  it('should count 100k keyed records exactly, however often the processor is SIGKILLed (or SIGTERMed) mid-run', async () => {
    const run = await countingSetup(infra)
    await run.produce(1_000, 100)
    const kills: number[] = []
    for (let i = 0; i < 4; i++) {
      // Small batches: more commits per second for a kill to land in, and the run lasts long enough.
      const child = run.start({ MAX_BATCH: '50' })
      children.push(child)
      const before = await run.committed()
      // Kill at a random moment once it is making progress, so the kill lands mid-batch or mid-commit.
      await waitUntil('progress', async () => (await run.committed()) > before, 60_000).catch((error) => {
        throw new Error(`${error.message}\nchild ${i} printed:\n${child.output().slice(-3_000)}`)
      })
      await pause(100 + Math.floor(Math.random() * 700))
      if (i === 2) {
        // Once, a graceful stop mid-run instead: in-flight work finishes and commits within 10 s.
        const { code, ms } = await child.timedStop('SIGTERM')
        expect(code).toBe(0)
        expect(ms).toBeLessThan(10_000)
      } else {
        child.signal('SIGKILL')
        await child.stop()
      }
      kills.push(await run.committed())
    }
    expect(kills.at(-1), 'the kills happened before the end of the input').toBeLessThan(run.total())

    const last = run.start()
    children.push(last)
    await run.waitForAll()
    await run.expectExactCounts()
    const { published, distinct } = await run.expectOutputsOnce()
    console.info(
      `stopped (kill -9, kill -9, SIGTERM, kill -9) at committed offsets ${kills.join(', ')}; ${published} outputs published, ${distinct} distinct`,
    )
    expect(distinct).toBe(100_000)
    expect(published).toBeGreaterThanOrEqual(distinct)
    // The contract: SIGTERM finishes in-flight work, commits, leaves the group and exits within 10 s.
    const { code, ms } = await last.timedStop('SIGTERM')
    expect(code).toBe(0)
    expect(ms).toBeLessThan(10_000)
    await run.close()
  })
})
