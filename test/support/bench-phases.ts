/** Child phases for the benchmark harness's unit test (test/unit/bench-harness.test.ts). */
import { childPhase } from '../../scripts/bench/harness/phase.ts'

/** Asks the parent for a number and returns it doubled, with its own pid (to show it ran elsewhere). */
export const doubling = childPhase(import.meta.url, 'doubling', async (config: { label: string }, ask) => ({
  label: config.label,
  doubled: 2 * Number(await ask('a number, please')),
  pid: process.pid,
}))

export const failing = childPhase(import.meta.url, 'failing', async (config: { why: string }) => {
  throw new Error(config.why)
})
