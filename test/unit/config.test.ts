import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../service/config.ts'
import { CommerceError } from '../../service/errors.ts'

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(CommerceError)
    expect((error as CommerceError).code).toBe('CONFIG_INVALID')
    return (error as Error).message
  }
  throw new Error('expected loadConfig to refuse')
}

describe('loadConfig', () => {
  it('should give working local defaults for an empty environment', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      kafkaBrokers: ['127.0.0.1:9092'],
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/commerce',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 3000,
      adminToken: undefined,
      logLevel: 'info',
      role: 'all',
      topicPartitions: 3,
      issueQueueMaxWaiting: 5_000,
      relayPlacement: 'inline',
    })
  })

  it('should read every variable it documents', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9093',
      DATABASE_URL: 'postgresql://u:p@db:5432/shop',
      REDIS_URL: 'rediss://cache:6380',
      PORT: '8080',
      ADMIN_TOKEN: 'a-very-long-admin-token',
      LOG_LEVEL: 'debug',
      ROLE: 'processors',
      APPLICATION_ID: 'shop-1',
      TOPIC_PARTITIONS: '12',
      ISSUE_QUEUE_MAX_WAITING: '50',
      KAFKA_MAX_MESSAGE_BYTES: '4194304',
      RELAY_PLACEMENT: 'thread',
    })
    expect(config.relayPlacement).toBe('thread')
    expect(config.issueQueueMaxWaiting).toBe(50)
    expect(config.kafkaBrokers).toEqual(['k1:9092', 'k2:9093'])
    expect(config.port).toBe(8080)
    expect(config.role).toBe('processors')
    expect(config.adminToken).toBe('a-very-long-admin-token')
    expect(config.topicPartitions).toBe(12)
    expect(config.kafkaMaxMessageBytes).toBe(4_194_304)
  })

  it('should name every bad variable in one error', () => {
    const message = problemsOf({
      PORT: 'eighty',
      KAFKA_BROKERS: 'no-port',
      DATABASE_URL: 'mysql://x/y',
      REDIS_URL: 'not a url',
      LOG_LEVEL: 'loud',
      ROLE: 'both',
      ADMIN_TOKEN: 'short',
      TOPIC_PARTITIONS: '0',
      ISSUE_QUEUE_MAX_WAITING: '0',
      KAFKA_MAX_MESSAGE_BYTES: '10',
      RELAY_PLACEMENT: 'elsewhere',
    })
    for (const name of [
      'PORT',
      'KAFKA_BROKERS',
      'DATABASE_URL',
      'REDIS_URL',
      'LOG_LEVEL',
      'ROLE',
      'ADMIN_TOKEN',
      'TOPIC_PARTITIONS',
      'ISSUE_QUEUE_MAX_WAITING',
      'KAFKA_MAX_MESSAGE_BYTES',
      'RELAY_PLACEMENT',
    ]) {
      expect(message).toContain(`${name}:`)
    }
  })

  it('should treat an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', ADMIN_TOKEN: '' })).toMatchObject({ port: 3000, adminToken: undefined })
  })

  it('should return a frozen object', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.kafkaBrokers)).toBe(true)
  })
})
