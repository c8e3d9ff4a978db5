/**
 * Child-process phases: a phase runs in a process of its own, so the RSS and CPU it reports are its
 * own, not the leftovers of producing or of earlier phases. A scenario declares one with `childPhase`
 * as an export of its module; the parent runs it with `forkPhase`, which forks child.ts, which imports
 * the module and runs the export. Protocol over IPC (child → parent): `result`, `error`, or `ask` (a
 * question the parent answers with `answer`, e.g. "caught up: produce the live records now").
 */
import { fork, spawnSync } from 'node:child_process'

export type Ask = (question: unknown) => Promise<unknown>

export interface ChildPhase<C, R> {
  /** The module (its import.meta.url) that exports this phase under `name`. */
  module: string
  name: string
  run: (config: C, ask: Ask) => Promise<R>
}

/** Declares a phase; export it from `module` under `name`, so that the child can find it. */
export function childPhase<C, R>(
  module: string,
  name: string,
  run: (config: C, ask: Ask) => Promise<R>,
): ChildPhase<C, R> {
  return { module, name, run }
}

export type ChildMessage =
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string }
  | { type: 'ask'; question: unknown }

export interface ForkOptions {
  label: string
  timeoutMs: number
  execArgv?: string[]
  /** Added to this process's environment for the child. */
  env?: Record<string, string>
  /** Receives the function that kills the child (by its pid), for the run's clean-up. */
  onChild?: (kill: () => void) => void
  /** Answers the child's questions. */
  answer?: (question: unknown) => Promise<unknown>
}

/** child.ts's argument for "load the module into the compile cache, run nothing". */
export const WARM = '--warm'
const warmed = new Set<string>()

/**
 * Runs `node args` once per run (the same args again do nothing): a command that only loads modules,
 * so that with NODE_COMPILE_CACHE (NODE_ENV_VARS) every measured process starts from the cache, as
 * the service does (service/main.ts, WARM_COMPILE_CACHE), whichever starts first. Not profiled.
 */
export function warmCompileCache(args: string[], env: NodeJS.ProcessEnv, cwd?: string): void {
  const command = args.filter((a) => !a.startsWith('--cpu-prof'))
  const key = command.join(' ')
  if (warmed.has(key)) return
  const { status, stderr } = spawnSync(process.execPath, command, { env, cwd, encoding: 'utf8' })
  if (status !== 0) throw new Error(`node ${key} (warming the compile cache) failed: ${stderr}`)
  warmed.add(key)
}

/** Runs `phase` in a child process; the child is killed on timeout, on failure, or by `onChild`'s kill. */
export function forkPhase<C, R>(phase: ChildPhase<C, R>, config: C, options: ForkOptions): Promise<R> {
  const { label, timeoutMs, execArgv = [], env = {}, onChild, answer } = options
  const script = new URL('./child.ts', import.meta.url).pathname
  // A phase's modules, loaded once in a child of their own before the first measured child.
  warmCompileCache([...execArgv, script, phase.module, WARM], { ...process.env, ...env })
  const child = fork(script, [phase.module, phase.name, JSON.stringify(config)], {
    execArgv,
    env: { ...process.env, ...env },
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
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'result') result = { value: message.result as R }
      else if (message.type === 'error') failure = new Error(`${label}: ${message.message}`)
      else if (!answer) fail(new Error(`${label} asked a question no one answers`))
      else answer(message.question).then((a) => child.send({ type: 'answer', answer: a }), fail)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (result && code === 0) resolve(result.value)
      else reject(failure ?? new Error(`${label} exited with ${signal ?? `code ${code}`} and no result`))
    })
  })
}
