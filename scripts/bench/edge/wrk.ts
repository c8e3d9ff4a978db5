/**
 * wrk, the HTTP load generator of bench:edge: found (or installed with apt-get), run with edge.lua,
 * and its result read back — the line `EDGE_RESULT {json}` the script's done() prints, and the answers
 * file (one `<requestId> <PENDING|ISSUED|REJECTED>` line per 202 or 200).
 */
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const SCRIPT = new URL('./edge.lua', import.meta.url).pathname
/**
 * wrk's --timeout: a response slower than this is still counted (and its status) but left out of the
 * latency histogram, as a "timeout" error — so the quantiles hold only answers faster than it. Its
 * default, 2 s, would drop exactly the slow tail a p99 is about; 10 s keeps it (the histogram costs 8
 * bytes per microsecond of it: 80 MB).
 */
export const WRK_TIMEOUT_SECONDS = 10
const INSTALL = 'apt-get update && apt-get install -y wrk'

export interface WrkResult {
  /** Responses received (wrk counts a request when its response is complete). */
  requests: number
  seconds: number
  bytes: number
  /** Socket errors, and `status`: responses with a status of 400 or more. */
  errors: { connect: number; read: number; write: number; status: number; timeout: number }
  latencyMs: { mean: number; max: number; p50: number; p90: number; p99: number; p999: number }
  /** Responses by status; a 5xx also by its error code ("503 OVERLOADED"). */
  statuses: Record<string, number>
}

const MARKER = 'EDGE_RESULT '

/** The result edge.lua's done() printed in wrk's output; a clear error when it is missing or malformed. */
export function parseWrkResult(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER))
  if (!line) throw new Error(`wrk printed no ${MARKER.trim()} line:\n${stdout.slice(-2000)}`)
  const raw = JSON.parse(line.slice(MARKER.length)) as {
    requests: number
    durationUs: number
    bytes: number
    errors: WrkResult['errors']
    latencyUs: WrkResult['latencyMs']
    statuses: Record<string, number>
  }
  const numbers = [raw.requests, raw.durationUs, raw.bytes, ...Object.values(raw.errors ?? {})]
  if (numbers.some((n) => typeof n !== 'number') || typeof raw.latencyUs !== 'object' || !raw.statuses)
    throw new Error(`malformed ${MARKER.trim()} line: ${line}`)
  const counted = Object.values(raw.statuses).reduce((s, n) => s + n, 0)
  if (counted !== raw.requests)
    throw new Error(`wrk counted ${raw.requests} responses, edge.lua ${counted} by status: ${line}`)
  const latencyMs = Object.fromEntries(
    Object.entries(raw.latencyUs).map(([k, us]) => [k, us / 1000]),
  ) as WrkResult['latencyMs']
  return {
    requests: raw.requests,
    seconds: raw.durationUs / 1e6,
    bytes: raw.bytes,
    errors: raw.errors,
    latencyMs,
    statuses: raw.statuses,
  }
}

/** What a run's responses come to: `ok` is its 2xx; anything outside `expected` is unexpected. */
export interface Tally {
  ok: number
  okPerSecond: number
  serverErrors: number
  unexpected: Record<string, number>
}

export function tally(result: WrkResult, expected: readonly string[]): Tally {
  const of = (test: (status: number) => boolean) =>
    Object.entries(result.statuses)
      .filter(([key]) => test(Number.parseInt(key, 10)))
      .reduce((s, [, n]) => s + n, 0)
  const ok = of((s) => s >= 200 && s < 300)
  const unexpected = Object.fromEntries(
    Object.entries(result.statuses).filter(([k]) => !expected.includes(k)),
  )
  return { ok, okPerSecond: ok / result.seconds, serverErrors: of((s) => s >= 500), unexpected }
}

/** `<requestId> <status>` lines → requestId → PENDING (a 202) or the decision a 200 carried. */
export function parseAnswers(text: string): Map<string, string> {
  const answers = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const [id, status] = line.split(' ')
    if (!id || !status) throw new Error(`malformed answer line: ${line}`)
    answers.set(id, status)
  }
  return answers
}

/**
 * wrk's version line; installs wrk with apt-get when it is missing and this process may (root on a
 * Debian-like machine), else fails naming the command to run.
 */
export function ensureWrk(log: (msg: string) => void): string {
  const version = () => {
    // `wrk -v` prints its version and usage, and exits 1.
    const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
    return r.error ? undefined : (r.stdout.split('\n')[0]?.split(' Copyright')[0] ?? 'wrk')
  }
  const found = version()
  if (found) return found
  const apt = spawnSync('apt-get', ['--version']).error === undefined
  if (!apt || process.getuid?.() !== 0)
    throw new Error(
      `wrk is not installed: install it (\`${INSTALL}\` on Debian/Ubuntu, as root) and run again`,
    )
  log(`wrk is not installed: ${INSTALL}`)
  const install = spawnSync('bash', ['-c', INSTALL], { stdio: ['ignore', 'inherit', 'inherit'] })
  const installed = install.status === 0 ? version() : undefined
  if (!installed) throw new Error(`\`${INSTALL}\` failed (exit ${install.status}): install wrk and run again`)
  return installed
}

export interface WrkRun {
  url: string
  seconds: number
  threads: number
  connections: number
  /** EDGE_* settings of edge.lua (EDGE_MODE, EDGE_USERS …). */
  env: Record<string, string>
  /** Where edge.lua writes the answers (issue mode). */
  answersFile?: string
  /** Receives the function that kills wrk, for the run's clean-up. */
  onChild?: (kill: () => void) => void
}

/** Runs wrk with edge.lua; its result, and the answers it wrote (empty without `answersFile`). */
export function runWrk(run: WrkRun): Promise<{ result: WrkResult; answers: Map<string, string> }> {
  const args = ['-t', String(run.threads), '-c', String(run.connections), '-d', `${run.seconds}s`]
  args.push('--timeout', `${WRK_TIMEOUT_SECONDS}s`)
  const env = {
    ...process.env,
    ...run.env,
    ...(run.answersFile ? { EDGE_ANSWERS_FILE: run.answersFile } : {}),
  }
  const child = spawn('wrk', [...args, '--latency', '-s', SCRIPT, run.url], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  run.onChild?.(kill)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  // wrk stops on its own after `seconds`; a wrk still running long after is stuck.
  const timer = setTimeout(kill, (run.seconds + 60) * 1000)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0)
        return reject(new Error(`wrk exited with ${signal ?? `code ${code}`}: ${stderr}${stdout}`))
      try {
        const answers = run.answersFile ? parseAnswers(readFileSync(run.answersFile, 'utf8')) : new Map()
        resolve({ result: parseWrkResult(stdout), answers })
      } catch (error) {
        reject(error)
      }
    })
  })
}
