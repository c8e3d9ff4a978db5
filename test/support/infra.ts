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
  const admin = new Admin({ clientId: uniqueName('test-admin'), bootstrapBrokers: endpoints.kafkaBrokers })
  const redis: RedisClientType = createClient({ url: endpoints.redisUrl })

  beforeAll(async () => {
    await onServer(endpoints.postgresUrl, (c) => c.query(`CREATE DATABASE ${database}`))
    await redis.connect()
  })

  afterAll(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {})
    await admin.close()
    for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await redis.del(keys)
    }
    await redis.close()
    await onServer(endpoints.postgresUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))
  })

  return {
    brokers: endpoints.kafkaBrokers,
    databaseUrl,
    redisUrl: endpoints.redisUrl,
    redisPrefix,
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
