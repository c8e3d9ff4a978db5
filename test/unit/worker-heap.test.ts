import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { NODE_FLAGS } from '../../scripts/bench/harness/bench.ts'
import { processSemiSpaceMb } from '../../topology/worker-heap.ts'

const fixture = new URL('../support/young-generation.ts', import.meta.url).pathname

describe('startWorker', () => {
  // The relay's worker runs in the service's process, whose --max-semi-space-size=16 V8 applies to
  // every isolate: a plain Worker gets 16 MiB semi-spaces whatever its resourceLimits say.
  it("should give the worker its own semi-spaces under the service's flags, and leave other isolates theirs", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [...NODE_FLAGS, fixture])
    const { started, plain, main } = JSON.parse(stdout) as Record<string, number>
    // Heap limits differ by the young generations: 3 semi-spaces of 2 MiB against 3 of 16.
    expect(plain! - started!).toBe(3 * (16 - 2))
    // The flag is put back: a worker started later has the process's semi-spaces, as this thread has.
    expect(plain).toBe(main)
  }, 60_000)
})

describe('processSemiSpaceMb', () => {
  it('should read the flag from the command line, then NODE_OPTIONS, the command line winning', () => {
    expect(processSemiSpaceMb(['--max-semi-space-size=16'], undefined)).toBe(16)
    expect(processSemiSpaceMb(['--max-semi-space-size', '8'], undefined)).toBe(8)
    expect(processSemiSpaceMb([], '--max_semi_space_size=4 --inspect')).toBe(4)
    expect(processSemiSpaceMb(['--max-semi-space-size=16'], '--max-semi-space-size=4')).toBe(16)
    expect(processSemiSpaceMb(['--max-old-space-size=1024'], '')).toBeUndefined()
  })
})
