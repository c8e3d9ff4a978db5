/**
 * The runtime's Prometheus metrics, in one place: base units, `_total` counters, and labels limited to
 * topic, partition, processor and error code (never a user or record id).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** The library's default metric name prefix; an application passes its own (the shop: `commerce_`). */
export const DEFAULT_METRICS_PREFIX = 'streams_'

export function createRuntimeMetrics(registry: Registry, prefix = DEFAULT_METRICS_PREFIX) {
  const registers = [registry]
  return {
    consumed: new Counter({
      name: `${prefix}records_consumed_total`,
      help: 'Records fetched from Kafka and handed to a task',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    processed: new Counter({
      name: `${prefix}records_processed_total`,
      help: 'Records whose effects committed (state change or business rejection), excluding DLQ records',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    dlq: new Counter({
      name: `${prefix}records_dlq_total`,
      help: 'Records sent to <topic>.dlq, by cause',
      labelNames: ['topic', 'code'],
      registers,
    }),
    skipped: new Counter({
      name: `${prefix}records_skipped_total`,
      help: 'Offsets skipped because they were deleted from the log (retention) before they were processed',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    duplicates: new Counter({
      name: `${prefix}records_duplicates_total`,
      help: 'Records skipped, unprocessed, because their partition had applied their output id already (outbox re-sends)',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    fetchErrors: new Counter({
      name: `${prefix}fetch_errors_total`,
      help: 'Partition fetches that failed (that partition backs off; the others go on), by Kafka error',
      labelNames: ['topic', 'partition', 'code'],
      registers,
    }),
    fetchHeld: new Counter({
      name: `${prefix}fetch_held_seconds_total`,
      help: 'Time the fetch loop waited for the outbox relay to catch up before fetching more (publication backpressure)',
      registers,
    }),
    retries: new Counter({
      name: `${prefix}processing_retries_total`,
      help: 'Attempts of a record whose processing threw, that were retried',
      labelNames: ['topic'],
      registers,
    }),
    batchSize: new Histogram({
      name: `${prefix}batch_size_records`,
      help: 'Records per committed batch',
      labelNames: ['processor'],
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
    commitDuration: new Histogram({
      name: `${prefix}commit_duration_seconds`,
      help: 'Duration of the PostgreSQL transaction committing a batch',
      labelNames: ['processor'],
      buckets: latencyBuckets,
      registers,
    }),
    commitFailures: new Counter({
      name: `${prefix}commit_failures_total`,
      help: 'Batch commits that failed: fenced (another owner) or error (will be retried)',
      labelNames: ['processor', 'reason'],
      registers,
    }),
    endToEnd: new Histogram({
      name: `${prefix}end_to_end_latency_seconds`,
      help: 'From a record timestamp to the commit of its effects',
      labelNames: ['topic'],
      buckets: latencyBuckets,
      registers,
    }),
    lagRecords: new Gauge({
      name: `${prefix}partition_lag_records`,
      help: 'High watermark minus the committed next offset (PostgreSQL), per owned partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    lagSeconds: new Gauge({
      name: `${prefix}partition_lag_seconds`,
      help: 'Age of the oldest fetched but uncommitted record, per owned partition (0 when caught up)',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    rebalances: new Counter({
      name: `${prefix}rebalances_total`,
      help: 'Group (re)joins that changed or confirmed this instance assignment',
      registers,
    }),
    ownedPartitions: new Gauge({
      name: `${prefix}owned_partitions`,
      help: 'Tasks (processor x partition) this instance owns',
      labelNames: ['processor'],
      registers,
    }),
    outboxBacklog: new Gauge({
      name: `${prefix}outbox_backlog_records`,
      help: 'Committed output records not yet published to Kafka',
      registers,
    }),
    outboxPublished: new Counter({
      name: `${prefix}outbox_published_total`,
      help: 'Output records published to Kafka by the relay',
      labelNames: ['topic'],
      registers,
    }),
    outboxRejected: new Counter({
      name: `${prefix}outbox_rejected_total`,
      help: 'Output records the broker can never take, moved to outbox_rejected by the relay, by Kafka error code',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    outboxRejectedRows: new Gauge({
      name: `${prefix}outbox_rejected_records`,
      help: 'Rows in outbox_rejected waiting for an operator to inspect and replay (or delete) them',
      registers,
    }),
    publishLatency: new Histogram({
      name: `${prefix}outbox_publish_latency_seconds`,
      help: 'From a batch commit to the publication of its outputs',
      buckets: latencyBuckets,
      registers,
    }),
  }
}

export type RuntimeMetrics = ReturnType<typeof createRuntimeMetrics>
