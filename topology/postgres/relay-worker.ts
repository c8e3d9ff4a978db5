/**
 * The body of the relay's worker thread (started by thread-relay.ts): an `OutboxRelay` with a
 * PostgreSQL pool and a Kafka producer of its own, so reading outbox rows, encoding and sending them
 * and deleting them use another core than the tasks. Its metrics, health and warnings go to the
 * facade's thread as messages (relay-messages.ts).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { describeError } from '../errors.ts'
import type { RuntimeMetrics } from '../runtime/metrics.ts'
import { OutboxRelay } from './outbox-relay.ts'
import {
  type FromWorker,
  MetricRecorder,
  RELAY_WORKER,
  type RelayWorkerData,
  type ToWorker,
} from './relay-messages.ts'
import type { StreamsDatabase } from './schema.ts'

function openDb(url: string): Kysely<StreamsDatabase> {
  // Two connections: one round's transaction at a time, and the one a round opens while another ends.
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 5_000,
    // A round holds its advisory lock in a transaction that waits on the broker: a stuck session
    // ends, and its lock with it, instead of stopping every relay of the database for good.
    idle_in_transaction_session_timeout: 15_000,
  })
  // Unheard, a lost connection's 'error' event ends the thread; heard, the round fails and is retried.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return new Kysely<StreamsDatabase>({ dialect: new PostgresDialect({ pool }) })
}

/** Runs the relay until the facade's thread sends `stop`. */
function runRelayWorker(port: MessagePort, data: RelayWorkerData): void {
  const send = (message: FromWorker) => port.postMessage(message)
  const db = openDb(data.databaseUrl)
  // One message per round: the recorder collects a round's counts until the thread is next idle.
  const recorder = new MetricRecorder(() => setImmediate(sendMetrics))
  function sendMetrics(): void {
    const calls = recorder.take()
    if (calls.length > 0) send({ type: 'metrics', calls })
  }

  let wasBehind = true
  const relay = new OutboxRelay({
    ...data.relay,
    db,
    // The relay only increments and observes its outbox metrics; the recorder takes any of them by name.
    metrics: recorder.metrics as RuntimeMetrics,
    log: { warn: (obj, msg) => send({ type: 'log', obj, msg }) },
    // The first round (the facade counts a starting worker as behind), every round while behind (each
    // settles the facade's waiters), and the round that caught up.
    onRound: (behind) => {
      if (behind || wasBehind) send({ type: 'round', behind })
      wasBehind = behind
    },
  })

  // Readiness is judged on the facade's thread from the relay's health: sent when it changes.
  let lastHealth = ''
  function sendHealth(): void {
    const health = relay.health
    const text = JSON.stringify(health)
    if (text === lastHealth) return
    lastHealth = text
    send({ type: 'health', health })
  }
  const healthTimer = setInterval(sendHealth, 100)

  port.on('message', (message: ToWorker) => {
    if (message.type === 'nudge') relay.nudge()
    else if (message.type === 'stop') void stop()
  })

  async function stop(): Promise<void> {
    clearInterval(healthTimer)
    try {
      await relay.stop()
    } catch (error) {
      send({ type: 'log', obj: { error: describeError(error) }, msg: 'outbox relay stop failed' })
    } finally {
      await db.destroy().catch(() => {})
      sendMetrics()
      sendHealth()
      send({ type: 'stopped' })
    }
  }

  relay.start()
}

// Started by ThreadRelay as a worker thread; imported anywhere else (a test runner's own worker thread
// included), it does nothing.
const data = workerData as RelayWorkerData | undefined
if (parentPort && data?.kind === RELAY_WORKER) runRelayWorker(parentPort, data)
