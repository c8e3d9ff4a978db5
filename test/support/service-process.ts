/** Runs the real service (`node service/main.ts`) as a child process, the way operators run it. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { TestInfra } from './infra.ts'

export interface ServiceProcess {
  readonly url: string
  readonly child: ChildProcess
  /** Everything the process printed so far (stdout and stderr). */
  output(): string
  /** Sends `signal` and resolves with the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>
}

const root = new URL('../../', import.meta.url).pathname

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  return port
}

export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const child = spawn(process.execPath, ['service/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d) => (output += d))
  child.stderr?.on('data', (d) => (output += d))
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      // A process ended by a signal has no exit code, only a signal code: either means it is gone.
      if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, ms: 0 }
      const started = performance.now()
      const exited = once(child, 'exit')
      child.kill(signal)
      const [code] = await exited
      return { code, ms: performance.now() - started }
    },
  }
}

/** Polls `url` until `accept(status, body)` holds, or fails after `timeoutMs` with the last answer. */
export async function waitForHttp(
  url: string,
  accept: (status: number, body: unknown) => boolean,
  timeoutMs = 30_000,
): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + timeoutMs
  let last: { status: number; body: unknown } | string = 'no answer'
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url)
      const text = await response.text()
      const body = text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text
      last = { status: response.status, body }
      if (accept(response.status, body)) return last
    } catch (error) {
      last = String(error)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${url} not as expected after ${timeoutMs} ms; last answer: ${JSON.stringify(last)}`)
}

/**
 * A service's environment on the test's infrastructure: its brokers, database and Redis (or `redisUrl`),
 * its own application id, and topics prefixed by it (so files running services at once stay apart).
 */
export function serviceEnv(
  infra: Pick<TestInfra, 'brokers' | 'databaseUrl' | 'redisUrl'>,
  appId: string,
  redisUrl = infra.redisUrl,
) {
  return {
    KAFKA_BROKERS: infra.brokers.join(','),
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: redisUrl,
    APPLICATION_ID: appId,
    TOPIC_PREFIX: `${appId}.`,
  }
}

/**
 * A shop deployment of its own on the test's infrastructure — application id, topic prefix, admin
 * token — whose instances start by role and are ready when returned. `started` lists them all, for the
 * file's clean-up.
 */
export function shopDeployment(
  infra: Pick<TestInfra, 'brokers' | 'databaseUrl' | 'redisUrl' | 'ownRedisPrefix'>,
  options: { appId: string; adminToken: string; redisUrl?: string; started: ServiceProcess[] },
) {
  // Its instances keep the sales ranking under the topic prefix: the file's clean-up owns those keys.
  infra.ownRedisPrefix(`${options.appId}.`)
  const env = {
    ...serviceEnv(infra, options.appId, options.redisUrl),
    ADMIN_TOKEN: options.adminToken,
    // A killed processor's partitions move after this long: short, so a test does not wait 10 s a kill.
    KAFKA_SESSION_TIMEOUT_MS: '3000',
  }
  return {
    prefix: env.TOPIC_PREFIX,
    async start(role: 'api' | 'processors'): Promise<ServiceProcess> {
      const service = await startService({ ...env, ROLE: role })
      options.started.push(service)
      await waitForHttp(`${service.url}/health/ready`, (status) => status === 200, 60_000)
      return service
    },
  }
}
