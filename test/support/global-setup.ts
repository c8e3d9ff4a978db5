/**
 * Finds or starts the real infrastructure the integration tests talk to, in this order:
 *   1. addresses given in KAFKA_BROKERS / DATABASE_URL / REDIS_URL;
 *   2. testcontainers, when a Docker engine answers;
 *   3. this machine: the project's own JVM Kafka broker (scripts/kafka.sh), and the local
 *      PostgreSQL and Redis services.
 * Whatever it started, it stops at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import type { Endpoints } from './endpoints.ts'

const root = new URL('../../', import.meta.url).pathname
const teardowns: Array<() => Promise<unknown>> = []

function script(name: string, ...args: string[]): string {
  return execFileSync('bash', [`${root}scripts/${name}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
}

async function dockerAnswers(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await getContainerRuntimeClient()
    return true
  } catch {
    return false
  }
}

async function fromDocker(missing: Set<keyof Endpoints['source']>, endpoints: Endpoints): Promise<void> {
  if (missing.has('kafka')) {
    const { KafkaContainer } = await import('@testcontainers/kafka')
    // The module drives Confluent's image (KRaft from 8.x on); cp-kafka 8.1 is Apache Kafka 4.1.
    const kafka = await new KafkaContainer('confluentinc/cp-kafka:8.1.0').start()
    teardowns.push(() => kafka.stop())
    endpoints.kafkaBrokers = [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`]
    endpoints.source.kafka = 'testcontainers cp-kafka'
  }
  if (missing.has('postgres')) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const pg = await new PostgreSqlContainer('postgres:15').start()
    teardowns.push(() => pg.stop())
    endpoints.postgresUrl = pg.getConnectionUri()
    endpoints.source.postgres = 'testcontainers postgres:15'
  }
  if (missing.has('redis')) {
    const { RedisContainer } = await import('@testcontainers/redis')
    const redis = await new RedisContainer('redis:7').start()
    teardowns.push(() => redis.stop())
    endpoints.redisUrl = redis.getConnectionUrl()
    endpoints.source.redis = 'testcontainers redis:7'
  }
}

function fromThisMachine(missing: Set<keyof Endpoints['source']>, endpoints: Endpoints): void {
  if (missing.has('kafka')) {
    // status exits 1 when nothing runs; that is an answer here, not a failure.
    const status = spawnSync('bash', [`${root}scripts/kafka.sh`, 'status'], { encoding: 'utf8' })
    const wasRunning = status.status === 0
    process.stdout.write(script('kafka.sh', 'start'))
    // A broker the developer started stays up; one we started is stopped with the run.
    if (!wasRunning && !process.env.KEEP_KAFKA) teardowns.push(async () => script('kafka.sh', 'stop'))
    endpoints.source.kafka = 'local JVM broker (scripts/kafka.sh)'
  }
  if (missing.has('postgres')) endpoints.source.postgres = 'local PostgreSQL service'
  if (missing.has('redis')) endpoints.source.redis = 'local Redis service'
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env
  const endpoints: Endpoints = {
    kafkaBrokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    postgresUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    source: { kafka: 'KAFKA_BROKERS', postgres: 'DATABASE_URL', redis: 'REDIS_URL' },
  }
  const missing = new Set<keyof Endpoints['source']>()
  if (!env.KAFKA_BROKERS) missing.add('kafka')
  if (!env.DATABASE_URL) missing.add('postgres')
  if (!env.REDIS_URL) missing.add('redis')

  if (missing.size > 0 && (await dockerAnswers())) await fromDocker(missing, endpoints)
  else fromThisMachine(missing, endpoints)

  // Independent tools the tests use: kcat (a second Kafka client) and promtool (Prometheus checks).
  script('ensure-kcat.sh')
  script('ensure-prometheus.sh')

  process.stdout.write(
    `integration endpoints: kafka=${endpoints.kafkaBrokers.join(',')} (${endpoints.source.kafka}), ` +
      `postgres (${endpoints.source.postgres}), redis (${endpoints.source.redis})\n`,
  )
  project.provide('endpoints', endpoints)
  return async () => {
    for (const teardown of teardowns.reverse()) await teardown()
  }
}
