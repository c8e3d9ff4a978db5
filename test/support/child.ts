/** Child processes for chaos tests: spawn, signal, and read what they printed. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'

export interface Child {
  readonly process: ChildProcess
  readonly pid: number
  output(): string
  signal(signal: NodeJS.Signals): void
  /** Sends `signal` (if still running) and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** Like stop(), also telling how long the exit took after the signal. */
  timedStop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>
}

const root = new URL('../../', import.meta.url).pathname

export function spawnChild(script: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return {
    process: child,
    pid: child.pid!,
    output: () => output,
    signal: (signal) => child.kill(signal),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
    async timedStop(signal = 'SIGTERM') {
      const started = performance.now()
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const code = await exited
      return { code, ms: performance.now() - started }
    },
  }
}
