/**
 * Per-file fixtures for integration tests: a database of its own, random topic and group names, and
 * Kafka/Redis clients — all removed after the file's tests. Call `useInfra()` at the top of a file.
 */
import { randomUUID } from 'node:crypto'
import { Admin } from '@platformatic/kafka'
import pg from 'pg'
import { createClient, type RedisClientType } from 'redis'
import { afterAll, beforeAll, inject } from 'vitest'
import './endpoints.ts'

export interface TestInfra {
  readonly brokers: string[]
  /** A database created for this file only. */
  readonly databaseUrl: string
  readonly redisUrl: string
  /** Prefix this file's Redis keys with it; every key under it is deleted afterwards. */
  readonly redisPrefix: string
  /**
   * Keys under `prefix` in the shared Redis are this file's too: a service started with TOPIC_PREFIX
   * `prefix` keeps its sales ranking there. They are deleted afterwards, once the file's own
   * after-hooks (registered after useInfra, so run before its clean-up) stopped its services, and the
   * file fails if any is back.
   */
  ownRedisPrefix(prefix: string): void
  readonly admin: Admin
  readonly redis: RedisClientType
  /** A unique name; topics created through `createTopic` are deleted afterwards. */
  name(prefix: string): string
  createTopic(prefix: string, partitions?: number): Promise<string>
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

export function useInfra(): TestInfra {
  const endpoints = inject('endpoints')
  const database = `cs_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const databaseUrl = withDatabase(endpoints.postgresUrl, database)
  const redisPrefix = `${uniqueName('test')}:`
  const topics: string[] = []
  const redisPrefixes = [redisPrefix]
  const admin = new Admin({ clientId: uniqueName('test-admin'), bootstrapBrokers: endpoints.kafkaBrokers })
  const redis: RedisClientType = createClient({ url: endpoints.redisUrl })

  beforeAll(async () => {
    await onServer(endpoints.postgresUrl, (c) => c.query(`CREATE DATABASE ${database}`))
    await redis.connect()
  })

  afterAll(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {})
    await admin.close()
    async function* ours() {
      for (const prefix of redisPrefixes) yield* redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })
    }
    for await (const keys of ours()) if (keys.length > 0) await redis.del(keys)
    // A key back already was written after the clean-up began: by a service the file left running.
    const left: string[] = []
    for await (const keys of ours()) left.push(...keys)
    await redis.close()
    await onServer(endpoints.postgresUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
    // The shared Redis has no expiry on a ranking's ready marker: a key left here stays for good.
    if (left.length > 0) throw new Error(`keys left in the shared Redis: ${left.slice(0, 10).join(', ')}`)
  })

  return {
    brokers: endpoints.kafkaBrokers,
    databaseUrl,
    redisUrl: endpoints.redisUrl,
    redisPrefix,
    ownRedisPrefix: (prefix) => redisPrefixes.push(prefix),
    admin,
    redis,
    name: uniqueName,
    async createTopic(prefix, partitions = 3) {
      const topic = uniqueName(prefix)
      await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
      topics.push(topic)
      return topic
    },
  }
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

async function onServer(serverUrl: string, fn: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await fn(client)
  } finally {
    await client.end()
  }
}
