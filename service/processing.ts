/**
 * The processing side of an instance: the shop topology on the stream runtime, and the outbox relay
 * that publishes what it (and the API) committed. Started once the database is migrated and the topics
 * exist; stopped before the connections close.
 */
import { shopTopology } from '../processors/shop-topology.ts'
import { type TopicNames, topicNames } from '../processors/topics.ts'
import type { Relay } from '../topology/postgres/relay.ts'
import type { RuntimeLogger, StreamsRuntime } from '../topology/runtime/streams-runtime.ts'
import { StreamsApp } from '../topology/streams-app.ts'
import type { Config } from './config.ts'
import type { Infrastructure } from './infrastructure.ts'
import { metricPrefix, type ServiceMetrics } from './metrics.ts'

export interface Processing {
  readonly topology: ReturnType<typeof shopTopology>
  readonly topics: TopicNames
  readonly app: StreamsApp
  /** Null when this instance runs no processors (ROLE=api). */
  readonly runtime: StreamsRuntime | null
  readonly relay: Relay
  /** Resolves when the runtime joined its group (or at once without processors). */
  readonly started: Promise<void>
  stop(): Promise<void>
}

export function openProcessing(
  config: Config,
  infra: Infrastructure,
  metrics: ServiceMetrics,
  log: RuntimeLogger,
): Processing {
  const topics = topicNames(config.topicPrefix)
  const topology = shopTopology(config.applicationId, topics)
  // Every role runs the relay: the API writes issue requests and orders to the outbox too.
  const app = new StreamsApp(topology, {
    brokers: config.kafkaBrokers,
    db: infra.db,
    // Inline by default; on a worker thread (RELAY_PLACEMENT=thread) it opens a pool of its own.
    databaseUrl: config.databaseUrl,
    relay: config.relayPlacement,
    processors: config.role !== 'api',
    registry: metrics.registry,
    metricsPrefix: metricPrefix,
    log,
    sessionTimeoutMs: config.sessionTimeoutMs,
    maxMessageBytes: config.kafkaMaxMessageBytes,
  })
  const { runtime, relay } = app
  if (runtime) infra.health.add({ component: 'processors', check: async () => assertHealthy(runtime) })
  infra.health.add({ component: 'relay', check: async () => assertHealthy(relay) })
  return {
    topology,
    topics,
    app,
    runtime,
    relay,
    started: infra.started.then(() => app.start()),
    stop: () => app.stop(),
  }
}

function assertHealthy(part: { problem(): string | undefined }): void {
  const problem = part.problem()
  if (problem) throw new Error(problem)
}
