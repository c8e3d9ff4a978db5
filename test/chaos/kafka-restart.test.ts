import { execSync } from 'node:child_process'
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

const root = new URL('../../', import.meta.url).pathname
/** Stops or starts the broker: KAFKA_STOP_COMMAND / KAFKA_START_COMMAND, or the project's local broker. */
const broker = (action: 'stop' | 'start') =>
  execSync(process.env[`KAFKA_${action.toUpperCase()}_COMMAND`] ?? `bash ${root}scripts/kafka.sh ${action}`, {
    stdio: 'inherit',
    timeout: 120_000,
  })

/** Only a broker this checkout started (or one with restart commands given) can be restarted by the test. */
function assertRestartable(): void {
  if (process.env.KAFKA_STOP_COMMAND && process.env.KAFKA_START_COMMAND) return
  const status = execSync(`bash ${root}scripts/kafka.sh status || true`, { encoding: 'utf8' })
  if (!/running \(pid \d+\)/.test(status)) {
    throw new Error(
      `cannot restart the broker: ${status.trim()} — stop the other broker, or set KAFKA_STOP_COMMAND and KAFKA_START_COMMAND`,
    )
  }
}

describe('Kafka restarted mid-run', () => {
  it('should outlive a broker restart: wait, rejoin, and keep the counts exact', async () => {
    assertRestartable()
    const run = await countingSetup(infra)
    await run.produce(1_000, 100)
    const child = run.start({ MAX_BATCH: '50' })
    children.push(child)
    await waitUntil('progress', async () => (await run.committed()) > 1_000)
    broker('stop')
    const whileDown = await run.committed()
    await pause(3_000)
    broker('start')
    expect(whileDown, 'the broker stopped mid-run').toBeLessThan(run.total())
    await run.produce(1_000, 10)
    await run.waitForAll(180_000)
    await run.expectExactCounts()
    await run.expectOutputsOnce()
    expect(child.output()).toMatch(/failed, retrying|rejoining/)
    expect(await child.stop('SIGTERM')).toBe(0)
    await run.close()
  })
})
