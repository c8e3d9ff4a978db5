/**
 * Runs one benchmark phase in a child process (so its RSS and CPU are its own) and resolves with the
 * result it reports over IPC. The child is killed, by its pid, on timeout or through `onChild`'s kill.
 * Protocol: the child sends `{ type: 'result', ... }` or `{ type: 'error', message }`, then exits 0.
 */
import { type ChildProcess, fork } from 'node:child_process'

export interface ForkPhaseOptions {
  timeoutMs: number
  execArgv?: string[]
  onChild?: (kill: () => void) => void
}

export function forkPhase<M extends { type: string }, R>(
  script: URL,
  config: object,
  label: string,
  options: ForkPhaseOptions & {
    /** The result a `result` message carries. */
    result: (message: M) => R
    /** Any other message type (e.g. a live phase's hand-shake). */
    onOther?: (message: M, child: ChildProcess, fail: (error: Error) => void) => void
  },
): Promise<R> {
  const { timeoutMs, execArgv = [], onChild, result: pick, onOther } = options
  const child = fork(script.pathname, [JSON.stringify(config)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  onChild?.(kill)
  return new Promise<R>((resolve, reject) => {
    let result: { value: R } | undefined
    let failure: Error | undefined
    const fail = (error: Error) => {
      failure = error
      kill()
    }
    const timer = setTimeout(() => fail(new Error(`${label} not done after ${timeoutMs / 1000}s`)), timeoutMs)
    child.on('message', (message: M) => {
      if (message.type === 'result') result = { value: pick(message) }
      else if (message.type === 'error') failure = new Error((message as M & { message: string }).message)
      else onOther?.(message, child, fail)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (result && code === 0) resolve(result.value)
      else reject(failure ?? new Error(`${label} exited with ${signal ?? `code ${code}`} and no result`))
    })
  })
}
