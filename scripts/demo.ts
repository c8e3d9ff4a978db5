/**
 * The main command (`./run demo`): starts the local Kafka broker (unless KAFKA_BROKERS points
 * elsewhere), starts the service, and shows that it is healthy. With `--keep` the service keeps
 * running until Ctrl-C; otherwise it is stopped gracefully and the broker is left up for the next run.
 */
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'

const keep = process.argv.includes('--keep')
const port = process.env.PORT ?? '3000'
const base = `http://127.0.0.1:${port}`

function section(title: string) {
  process.stdout.write(`\n== ${title}\n`)
}

async function waitReady(timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs
  let last: unknown = 'no answer'
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/health/ready`)
      last = await response.json()
      if (response.ok) return last
    } catch (error) {
      last = String(error)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`not ready after ${timeoutMs} ms: ${JSON.stringify(last)}`)
}

section('Kafka broker')
if (process.env.KAFKA_BROKERS) process.stdout.write(`using KAFKA_BROKERS=${process.env.KAFKA_BROKERS}\n`)
else execFileSync('bash', ['scripts/kafka.sh', 'start'], { stdio: 'inherit' })

section('Service')
const started = performance.now()
const service = spawn(process.execPath, ['service/main.ts'], {
  env: { LOG_LEVEL: 'warn', ...process.env, PORT: port },
  stdio: ['ignore', 'inherit', 'inherit'],
})
const exited = once(service, 'exit')
try {
  const report = await Promise.race([
    waitReady(60_000),
    exited.then(([code]) => Promise.reject(new Error(`the service exited with code ${code}`))),
  ])
  process.stdout.write(`ready in ${((performance.now() - started) / 1000).toFixed(1)}s\n`)
  process.stdout.write(`GET ${base}/health/ready -> 200 ${JSON.stringify(report, null, 2)}\n`)
  process.stdout.write(`metrics: ${base}/metrics   API docs: ${base}/docs\n`)
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`)
  service.kill('SIGKILL')
  process.exit(1)
}

if (keep) {
  process.stdout.write('service running; Ctrl-C stops it (the broker stays up: ./run kafka stop)\n')
  process.on('SIGINT', () => service.kill('SIGTERM'))
  await exited
} else {
  service.kill('SIGTERM')
  const [code] = await exited
  process.stdout.write(`service stopped (exit ${code}); broker left running: ./run kafka stop\n`)
  process.exit(code === 0 ? 0 : 1)
}
