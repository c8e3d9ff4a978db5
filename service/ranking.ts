/**
 * The sales ranking's part of an instance: the Redis view every role reads (`GET /products/top`), and
 * on instances that run processors the projector that keeps it current and rebuilds it. Redis keys
 * take the deployment's topic prefix, so deployments sharing a Redis never touch each other's ranking.
 */
import { topicNames } from '../processors/topics.ts'
import { SalesRanking } from '../state/ranking.ts'
import type { BusinessMetrics } from './business-metrics.ts'
import type { Config } from './config.ts'
import type { Infrastructure, Logger } from './infrastructure.ts'
import { RankingProjector } from './ranking-projector.ts'

export interface RankingPart {
  readonly ranking: SalesRanking
  /** Null when this instance runs no processors (ROLE=api). */
  readonly projector: RankingProjector | null
  /** Starts the projector once the database is migrated and the topics exist. */
  readonly started: Promise<void>
  stop(): Promise<void>
}

export function openRanking(
  config: Config,
  infra: Infrastructure,
  metrics: BusinessMetrics,
  log: Logger,
): RankingPart {
  const ranking = new SalesRanking(infra.redis, infra.db, { prefix: config.topicPrefix })
  if (config.role === 'api')
    return { ranking, projector: null, started: Promise.resolve(), stop: async () => {} }
  const projector = new RankingProjector({
    brokers: config.kafkaBrokers,
    applicationId: config.applicationId,
    topics: topicNames(config.topicPrefix),
    db: infra.db,
    ranking,
    metrics,
    log,
    sessionTimeoutMs: config.sessionTimeoutMs,
  })
  infra.health.add({
    component: 'ranking',
    check: async () => {
      const problem = projector.problem()
      if (problem) throw new Error(problem)
    },
  })
  const started = infra.started.then(() => projector.start())
  started.catch(() => {})
  return {
    ranking,
    projector,
    started,
    async stop() {
      await started.catch(() => {})
      await projector.stop()
    },
  }
}
