/**
 * The only module that reads `process.env`. Every variable is validated once, at start-up, and every
 * problem is reported together, each naming its variable; the result is frozen.
 */
import { DEFAULT_ISSUE_QUEUE_MAX_WAITING } from '../state/coupon-requests.ts'
import { type RelayPlacement, RelayPlacements } from '../topology/streams-app.ts'
import { CommerceError } from './errors.ts'

export const Roles = { API: 'api', PROCESSORS: 'processors', ALL: 'all' } as const
export type Role = (typeof Roles)[keyof typeof Roles]

export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LogLevels)[number]

export interface Config {
  readonly kafkaBrokers: readonly string[]
  readonly databaseUrl: string
  readonly redisUrl: string
  readonly port: number
  readonly host: string
  readonly adminToken: string | undefined
  readonly logLevel: LogLevel
  readonly role: Role
  readonly applicationId: string
  readonly topicPartitions: number
  /** Prepended to every topic name; empty (the contract's names) unless a deployment shares a cluster. */
  readonly topicPrefix: string
  /** How long the group waits for a silent instance before moving its partitions to the others. */
  readonly sessionTimeoutMs: number
  /** Coupon issue requests that may wait for a database statement; beyond it, 503 OVERLOADED. */
  readonly issueQueueMaxWaiting: number
  /** The brokers' `message.max.bytes` (or the output topics' lower `max.message.bytes`): the relay's batch limit. */
  readonly kafkaMaxMessageBytes: number
  /** Where the outbox relay runs: on the tasks' thread (`inline`) or a worker thread of its own. */
  readonly relayPlacement: RelayPlacement
}

type Env = Record<string, string | undefined>
type Parser<T> = (raw: string) => T

/** Defaults work on a developer machine with the local broker, PostgreSQL and Redis. */
export const defaults = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/commerce',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PORT: '3000',
  HOST: '0.0.0.0',
  LOG_LEVEL: 'info',
  ROLE: Roles.ALL,
  APPLICATION_ID: 'commerce-streams',
  TOPIC_PARTITIONS: '3',
  TOPIC_PREFIX: '',
  KAFKA_SESSION_TIMEOUT_MS: '10000',
  ISSUE_QUEUE_MAX_WAITING: String(DEFAULT_ISSUE_QUEUE_MAX_WAITING),
  // Kafka's default message.max.bytes.
  KAFKA_MAX_MESSAGE_BYTES: '1048588',
  RELAY_PLACEMENT: 'inline',
} as const

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$/

const parsers = {
  brokers: (raw: string) => {
    const list = raw.split(',').map((s) => s.trim())
    const bad = list.filter((b) => !hostPort.test(b))
    if (list.length === 0 || bad.length > 0) throw new Error(`expected host:port[,host:port], got "${raw}"`)
    return list
  },
  url: (protocols: string[]) => (raw: string) => {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new Error(`expected a URL, got "${raw}"`)
    }
    if (!protocols.includes(url.protocol)) throw new Error(`expected a ${protocols.join(' or ')} URL`)
    return raw
  },
  int: (min: number, max: number) => (raw: string) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`expected an integer from ${min} to ${max}, got "${raw}"`)
    }
    return Number(raw)
  },
  oneOf:
    <T extends string>(values: readonly T[]) =>
    (raw: string) => {
      if (!(values as readonly string[]).includes(raw)) {
        throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`)
      }
      return raw as T
    },
  token: (raw: string) => {
    if (raw.length < 16) throw new Error('expected at least 16 characters')
    return raw
  },
  prefix: (raw: string) => {
    if (!/^[A-Za-z0-9._-]{0,100}$/.test(raw)) throw new Error(`expected letters, digits, ".", "_" or "-"`)
    return raw
  },
  name: (raw: string) => {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(raw)) throw new Error(`expected letters, digits, ".", "_" or "-"`)
    return raw
  },
}

/** Parses the environment; throws one CONFIG_INVALID error naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  function read<T>(name: string, parse: Parser<T>, fallback: string): T
  function read<T>(name: string, parse: Parser<T>): T | undefined
  function read<T>(name: string, parse: Parser<T>, fallback?: string): T | undefined {
    const raw = env[name] || fallback // an empty variable counts as unset
    if (raw === undefined) return undefined
    try {
      return parse(raw)
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`)
      return undefined
    }
  }

  const config = {
    kafkaBrokers: read('KAFKA_BROKERS', parsers.brokers, defaults.KAFKA_BROKERS),
    databaseUrl: read('DATABASE_URL', parsers.url(['postgres:', 'postgresql:']), defaults.DATABASE_URL),
    redisUrl: read('REDIS_URL', parsers.url(['redis:', 'rediss:']), defaults.REDIS_URL),
    port: read('PORT', parsers.int(0, 65535), defaults.PORT),
    host: read('HOST', parsers.name, defaults.HOST),
    adminToken: read('ADMIN_TOKEN', parsers.token),
    logLevel: read('LOG_LEVEL', parsers.oneOf(LogLevels), defaults.LOG_LEVEL),
    role: read('ROLE', parsers.oneOf(Object.values(Roles)), defaults.ROLE),
    applicationId: read('APPLICATION_ID', parsers.name, defaults.APPLICATION_ID),
    topicPartitions: read('TOPIC_PARTITIONS', parsers.int(1, 1000), defaults.TOPIC_PARTITIONS),
    topicPrefix: read('TOPIC_PREFIX', parsers.prefix) ?? '',
    sessionTimeoutMs: read(
      'KAFKA_SESSION_TIMEOUT_MS',
      parsers.int(1_000, 300_000),
      defaults.KAFKA_SESSION_TIMEOUT_MS,
    ),
    issueQueueMaxWaiting: read(
      'ISSUE_QUEUE_MAX_WAITING',
      parsers.int(1, 1_000_000),
      defaults.ISSUE_QUEUE_MAX_WAITING,
    ),
    kafkaMaxMessageBytes: read(
      'KAFKA_MAX_MESSAGE_BYTES',
      parsers.int(1_024, 100_000_000),
      defaults.KAFKA_MAX_MESSAGE_BYTES,
    ),
    relayPlacement: read('RELAY_PLACEMENT', parsers.oneOf(RelayPlacements), defaults.RELAY_PLACEMENT),
  }
  if (problems.length > 0) {
    throw new CommerceError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  return Object.freeze({ ...config, kafkaBrokers: Object.freeze(config.kafkaBrokers) }) as Config
}
