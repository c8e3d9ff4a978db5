/**
 * The processing side of an instance: the shop topology on the stream runtime, and the outbox relay
 * that publishes what it (and the API) committed. Started once the database is migrated and the topics
 * exist; stopped before the connections close.
 */
import { shopTopology } from '../processors/shop-topology.ts'
import { type TopicNames, topicNames } from '../processors/topics.ts'
import { couponLookups, couponTables } from '../state/coupon-processing.ts'
import { OutboxRelay } from '../topology/postgres/outbox-relay.ts'
import { PostgresStateBackend } from '../topology/postgres/state-backend.ts'
import { createRuntimeMetrics } from '../topology/runtime/metrics.ts'
import { type RuntimeLogger, StreamsRuntime } from '../topology/runtime/streams-runtime.ts'
import type { Config } from './config.ts'
import type { Infrastructure } from './infrastructure.ts'
import { metricPrefix, type ServiceMetrics } from './metrics.ts'

export interface Processing {
  readonly topology: ReturnType<typeof shopTopology>
  readonly topics: TopicNames
  /** Null when this instance runs no processors (ROLE=api). */
  readonly runtime: StreamsRuntime | null
  readonly relay: OutboxRelay
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
  const runtimeMetrics = createRuntimeMetrics(metrics.registry, metricPrefix)
  // Every role runs the relay: the API writes issue requests and orders to the outbox too.
  const relay = new OutboxRelay({
    db: infra.db,
    brokers: config.kafkaBrokers,
    clientId: `${config.applicationId}-relay`,
    maxBatchBytes: config.kafkaMaxMessageBytes,
    metrics: runtimeMetrics,
    log,
  })
  const runtime =
    config.role === 'api'
      ? null
      : new StreamsRuntime({
          topology,
          brokers: config.kafkaBrokers,
          backend: new PostgresStateBackend(infra.db, { lookups: couponLookups, tables: couponTables }),
          metrics: runtimeMetrics,
          log,
          onCommitted: () => relay.nudge(),
          sessionTimeoutMs: config.sessionTimeoutMs,
        })
  if (runtime) infra.health.add({ component: 'processors', check: async () => assertHealthy(runtime) })
  infra.health.add({ component: 'relay', check: async () => assertHealthy(relay) })
  const backlog = setInterval(() => {
    relay.backlog().then(
      (n) => runtimeMetrics.outboxBacklog.set(n),
      () => {},
    )
    relay.rejectedRows().then(
      (n) => runtimeMetrics.outboxRejectedRows.set(n),
      () => {},
    )
  }, 5_000)
  backlog.unref()

  const started = infra.started.then(async () => {
    relay.start()
    await runtime?.start()
  })
  return {
    topology,
    topics,
    runtime,
    relay,
    started,
    async stop() {
      clearInterval(backlog)
      await runtime?.stop()
      await relay.stop()
    },
  }
}

function assertHealthy(part: { problem(): string | undefined }): void {
  const problem = part.problem()
  if (problem) throw new Error(problem)
}
