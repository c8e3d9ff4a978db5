/**
 * The coupon benchmark's two measured phases, each in a child process of its own (coupons-child.ts) so
 * its CPU and RSS are its own: "ours" (the shop topology on StreamsRuntime + PostgresStateBackend +
 * OutboxRelay) and "seed" (one transaction per message with an optimistic-lock update, as the seed's
 * Spring listener does). This is the parent's side: the configuration, the results, and the fork.
 */

import { type ForkPhaseOptions, forkPhase } from './fork-phase.ts'
import type { CpuUse, RssSummary } from './measure.ts'
import type { Rate, RuntimeSettings } from './runtime-harness.ts'

export interface CouponsPhaseConfig {
  mode: 'ours' | 'seed'
  brokers: string[]
  databaseUrl: string
  database: string
  /** ours: the application id (consumer group and state namespace); seed: the consumer group. */
  group: string
  /** ours: the deployment's topic prefix (its topics are `<prefix>coupon-issue-topic`…). */
  prefix: string
  /** The topic read, and its end offset per partition (decimal strings: JSON has no bigint). */
  input: string
  ends: string[]
  /** ours: the result topic the relay publishes to. */
  output: string
  total: number
  settings: RuntimeSettings
}

/** When each partition's last record was done (its outcome committed), from the phase's start. */
export interface PartitionDone {
  partition: number
  records: number
  seconds: number
}

export interface OursResult {
  committed: Rate
  published: Rate
  startSeconds: number
  firstCommitSeconds: number
  partitions: PartitionDone[]
  batches: number
  meanBatch: number
  /** Mean per batch: in the task (lookups + processing + commit), the lookups, the commit transaction. */
  taskMs: number
  lookupMs: number
  pgMs: number
  /** Share of the phase the child's event loop was busy. */
  eventLoop: number
  /** Most records held in the task queues at once (fetched, not yet committed), sampled every 250 ms. */
  maxQueued: number
  cpu: CpuUse
  rss: RssSummary
}

export interface SeedResult {
  committed: Rate
  startSeconds: number
  partitions: PartitionDone[]
  transactions: number
  /** Optimistic-lock failures (0 rows updated), each followed by a retry of the whole transaction. */
  retries: number
  txP50Ms: number
  txP99Ms: number
  txMeanMs: number
  /** Transactions that issued a coupon (insert + versioned update), and the mean of each kind. */
  issued: number
  issuedTxMeanMs: number
  rejectedTxMeanMs: number
  offsetCommitMeanMs: number
  eventLoop: number
  cpu: CpuUse
  rss: RssSummary
}

export type CouponsChildMessage =
  | { type: 'result'; ours?: OursResult; seed?: SeedResult }
  | { type: 'error'; message: string }

/** Runs one phase in a child process; the child is killed (by its pid) on timeout or by `onChild`'s kill. */
export function runCouponsPhase(
  config: CouponsPhaseConfig,
  options: ForkPhaseOptions,
): Promise<Extract<CouponsChildMessage, { type: 'result' }>> {
  return forkPhase(
    new URL('./coupons-child.ts', import.meta.url),
    config,
    `${config.mode} phase (${config.group})`,
    {
      ...options,
      result: (message: CouponsChildMessage) => message as Extract<CouponsChildMessage, { type: 'result' }>,
    },
  )
}
