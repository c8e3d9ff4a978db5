/**
 * What a benchmark created, undone last first, exactly once: at the normal end, on Ctrl-C or SIGTERM,
 * or when the whole run overruns its limit (then it exits 1). Each step gets 60 s.
 */
import { withTimeout } from '../../topology/retry.ts'
import { log } from './infra.ts'

export interface Cleanup {
  /** Registers a step; steps run in reverse order of registration. */
  push(step: { what: string; run: () => unknown }): void
  /** Runs every registered step once; later calls wait for the same run. */
  run(): Promise<void>
}

export function installCleanup(overallMs: number): Cleanup {
  const steps: Array<{ what: string; run: () => unknown }> = []
  let running: Promise<void> | undefined
  const run = () => {
    running ??= (async () => {
      for (const { what, run: step } of steps.splice(0).reverse()) {
        try {
          await withTimeout(Promise.resolve(step()), 60_000, what)
        } catch (error) {
          log(`cleanup "${what}" failed: ${(error as Error).message}`)
        }
      }
    })()
    return running
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`)
      void run().finally(() => process.exit(130))
    })
  }
  setTimeout(() => {
    log(`the whole run took longer than ${overallMs / 60_000} min: giving up`)
    void run().finally(() => process.exit(1))
  }, overallMs).unref()
  return { push: (step) => steps.push(step), run }
}
