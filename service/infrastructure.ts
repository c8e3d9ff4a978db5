/**
 * Connections to PostgreSQL, Redis and Kafka, opened so that a dependency that is down at start-up is
 * waited for in the background (reported by readiness) instead of stopping the process.
 */
import { Admin } from '@platformatic/kafka'
import { type Kysely, sql } from 'kysely'
import { createClient, type RedisClientType } from 'redis'
import { allTopics } from '../processors/topics.ts'
import { createDb, ensureDatabase } from '../state/db.ts'
import { migrateToLatest } from '../state/migrate.ts'
import type { Database } from '../state/schema.ts'
import { backoffDelay, retryForever } from '../topology/retry.ts'
import { ensureTopics } from '../topology/topic-admin.ts'
import type { Config } from './config.ts'
import { describeError } from './errors.ts'
import { Health } from './health.ts'
import type { ServiceMetrics } from './metrics.ts'

export interface Logger {
  // the part of pino this module uses, so tests can pass anything with these two methods
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

export interface Infrastructure {
  readonly db: Kysely<Database>
  readonly redis: RedisClientType
  readonly admin: Admin
  readonly health: Health
  /** Resolves once the database is migrated and the topics exist (retrying until then); Redis aside. */
  readonly started: Promise<void>
  close(): Promise<void>
}

export function openInfrastructure(config: Config, metrics: ServiceMetrics, log: Logger): Infrastructure {
  const stop = new AbortController()
  const db = createDb({ url: config.databaseUrl })
  const redis: RedisClientType = createClient({
    url: config.redisUrl,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (attempt) => backoffDelay(attempt, { maxMs: 3_000 }),
    },
  })
  // node-redis emits 'error' on every failed reconnect; readiness reports it, the log would only repeat it.
  redis.on('error', () => {})
  const admin = new Admin({
    clientId: `${config.applicationId}-admin`,
    bootstrapBrokers: [...config.kafkaBrokers],
    retries: 0,
    timeout: 2_000,
  })

  // Answering is not enough to serve: until the schema is migrated and the topics exist, a request would
  // fail on a missing table or topic (seen: ROLE=api reported ready, then "relation users does not exist").
  const setUp = { migrated: false, topics: false }
  const health = new Health({ gauge: metrics.ready })
    .add({
      component: 'postgres',
      check: async () => {
        await sql`select 1`.execute(db)
        if (!setUp.migrated) throw new Error('the schema is not migrated yet (migration running or retrying)')
      },
    })
    .add({
      component: 'redis',
      check: async () => {
        if (!redis.isReady) throw new Error('not connected')
        await redis.ping()
      },
    })
    .add({
      component: 'kafka',
      check: async () => {
        await admin.listTopics()
        if (!setUp.topics) throw new Error('the topics are not created yet (creation running or retrying)')
      },
    })

  const retry = (what: string) => ({
    signal: stop.signal,
    maxMs: 5_000,
    onRetry: (error: unknown, attempt: number, delayMs: number) =>
      log.warn({ what, attempt, delayMs, error: describeError(error) }, `${what} failed, retrying`),
  })

  const started = Promise.all([
    retryForever(async () => {
      await ensureDatabase(config.databaseUrl)
      const applied = await migrateToLatest(db as Kysely<unknown>)
      if (applied.length > 0) log.info({ applied }, 'database migrated')
      setUp.migrated = true
    }, retry('database migration')),
    retryForever(async () => {
      const created = await ensureTopics(admin, allTopics(config.topicPrefix), config.topicPartitions)
      if (created.length > 0) log.info({ created }, 'topics created')
      setUp.topics = true
    }, retry('topic creation')),
  ]).then(() => undefined)
  // Redis (the sales ranking) is not needed to start processing: it connects on its own time.
  retryForever(() => redis.connect().then(() => undefined), retry('redis connect')).catch(() => {})
  // A failure here only happens on shutdown (aborted retries); close() awaits nothing from it.
  started.catch(() => {})

  return {
    db,
    redis,
    admin,
    health,
    started,
    async close() {
      stop.abort(new Error('shutting down'))
      await Promise.allSettled([
        db.destroy(),
        redis.isOpen ? redis.close() : Promise.resolve(),
        admin.close(),
      ])
    },
  }
}
