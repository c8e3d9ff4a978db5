/**
 * A redis-server of the test's own, on a free port, keeping nothing on disk like the machine's: a test
 * can restart it (it comes back empty) without touching the shared Redis other tests use.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createClient } from 'redis'
import { freePort } from './service-process.ts'

export interface PrivateRedis {
  readonly url: string
  /** Kills the server (SIGKILL: it keeps nothing) and starts a new, empty one on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let server: ChildProcess | undefined
  const launch = async () => {
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    await answering(`redis://127.0.0.1:${port}`)
  }
  const kill = async () => {
    if (!server || server.exitCode !== null || server.signalCode !== null) return
    const exited = once(server, 'exit')
    server.kill('SIGKILL')
    await exited
  }
  await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill()
      await launch()
    },
    stop: kill,
  }
}

async function answering(url: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const client = createClient({ url, socket: { reconnectStrategy: false } })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      await client.close()
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}
