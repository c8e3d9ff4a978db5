/** Helpers shared by the runtime's integration tests: a migrated database, producing, polling. */
import { compatibilityPartitioner, Producer, stringSerializers } from '@platformatic/kafka'
import { type Kysely, sql } from 'kysely'
import { Registry } from 'prom-client'
import { createDb } from '../../state/db.ts'
import { migrateToLatest } from '../../state/migrate.ts'
import type { Database } from '../../state/schema.ts'
import { createRuntimeMetrics } from '../../topology/runtime/metrics.ts'

export async function migratedDb(url: string): Promise<Kysely<Database>> {
  const db = createDb({ url })
  await migrateToLatest(db as Kysely<unknown>)
  return db
}

export async function produce(
  brokers: string[],
  messages: Array<{ topic: string; key: string; value: string; partition?: number }>,
  chunk = 1_000,
): Promise<void> {
  const producer = new Producer({
    clientId: `test-producer-${process.pid}`,
    bootstrapBrokers: brokers,
    serializers: stringSerializers,
    partitioner: compatibilityPartitioner,
    idempotent: true,
  })
  try {
    for (let i = 0; i < messages.length; i += chunk)
      await producer.send({ messages: messages.slice(i, i + chunk) })
  } finally {
    await producer.close()
  }
}

/**
 * `perKey` more counting-topology records (`{ key, n }`) for each of `keys` keys, interleaved, numbered
 * on from `produced`, which it updates: the expected count per key afterwards.
 */
export function countedMessages(topic: string, keys: number, perKey: number, produced: Map<string, number>) {
  const messages: Array<{ topic: string; key: string; value: string }> = []
  for (let i = 0; i < perKey; i++) {
    for (let k = 0; k < keys; k++) {
      const key = `key-${k}`
      const n = (produced.get(key) ?? 0) + 1
      produced.set(key, n)
      messages.push({ topic, key, value: JSON.stringify({ key, n }) })
    }
  }
  return messages
}

/** Sum of the committed next offsets of a topic: the number of records consumed when it started at 0. */
export async function committedTotal(
  db: Kysely<Database>,
  applicationId: string,
  topic: string,
): Promise<number> {
  const { rows } = await sql<{ total: string | null }>`
    select sum(next_offset)::text as total from stream_offsets
    where application_id = ${applicationId} and topic = ${topic}`.execute(db)
  return Number(rows[0]?.total ?? 0)
}

/** Polls `check` until it holds; a check that throws (a dependency restarting) counts as not yet. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (error) {
      lastError = ` (last check failed: ${error})`
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError}`)
}

export function testMetrics() {
  const registry = new Registry()
  return { registry, metrics: createRuntimeMetrics(registry, 'commerce_') }
}

export const quietLog = {
  info() {},
  warn() {},
  error(obj: object, msg: string) {
    console.error(msg, obj)
  },
}
