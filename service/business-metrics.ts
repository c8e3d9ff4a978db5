/**
 * The shop's business metrics, beside the runtime's: what happened to orders, compensations and the
 * sales ranking (counted by the ranking projector, the one reader of every status and restore event),
 * and the coupon supply (read from PostgreSQL when Prometheus scrapes). docs/metrics.md lists each.
 */
import { type Kysely, sql } from 'kysely'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { OrderFailureReasons } from '../processors/order-messages.ts'
import type { Database } from '../state/schema.ts'
import { withTimeout } from '../topology/retry.ts'
import { metricPrefix } from './metrics.ts'

export const CompensationKinds = ['stock', 'points', 'coupon'] as const
export type CompensationKind = (typeof CompensationKinds)[number]

/** How one status event changed the ranking: skipped means PostgreSQL does not have the order COMPLETED. */
export const RankingResults = ['applied', 'duplicate', 'expired', 'skipped'] as const
export type RankingResult = (typeof RankingResults)[number]

/** The `reason` label of a COMPLETED order: Prometheus treats an empty label as no label. */
export const NO_REASON = 'none'

export interface BusinessMetrics {
  readonly orders: Counter<'outcome' | 'reason'>
  readonly orderDuration: Histogram<'outcome'>
  readonly compensations: Counter<'kind'>
  readonly rankingUpdates: Counter<'result'>
  readonly rankingRebuilds: Counter
}

export function createBusinessMetrics(registry: Registry, db: Kysely<Database>): BusinessMetrics {
  const registers = [registry]
  const orders = new Counter({
    name: `${metricPrefix}orders_total`,
    help: 'Orders that reached their final status, by outcome (COMPLETED, FAILED) and failure reason',
    labelNames: ['outcome', 'reason'],
    registers,
  })
  const orderDuration = new Histogram({
    name: `${metricPrefix}order_duration_seconds`,
    help: "Time from an order's creation to its final status (orders.created_at to completed_at/failed_at)",
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  })
  const compensations = new Counter({
    name: `${metricPrefix}compensations_total`,
    help: 'Restore events published by the order saga, by kind (stock, points, coupon)',
    labelNames: ['kind'],
    registers,
  })
  const rankingUpdates = new Counter({
    name: `${metricPrefix}ranking_updates_total`,
    help: 'COMPLETED status events the sales ranking projector handled, by result',
    labelNames: ['result'],
    registers,
  })
  const rankingRebuilds = new Counter({
    name: `${metricPrefix}ranking_rebuilds_total`,
    help: 'Rebuilds of the sales ranking from PostgreSQL (Redis had lost it, or first start)',
    registers,
  })
  // Every series exists at 0 from start-up: an increase() over the first event works, and panels show 0.
  orders.inc({ outcome: 'COMPLETED', reason: NO_REASON }, 0)
  for (const reason of Object.values(OrderFailureReasons)) orders.inc({ outcome: 'FAILED', reason }, 0)
  for (const kind of CompensationKinds) compensations.inc({ kind }, 0)
  for (const result of RankingResults) rankingUpdates.inc({ result }, 0)
  rankingRebuilds.inc(0)
  for (const outcome of ['COMPLETED', 'FAILED']) orderDuration.zero({ outcome })
  couponGauges(registry, db)
  return { orders, orderDuration, compensations, rankingUpdates, rankingRebuilds }
}

/**
 * Coupon units issued and still issuable, summed over all coupons (a per-coupon label would be a
 * record id). Read at scrape time; with PostgreSQL slow or down the scrape keeps the last values
 * rather than failing the whole /metrics answer.
 */
function couponGauges(registry: Registry, db: Kysely<Database>): void {
  let last: Promise<{ issued: number; remaining: number }> | undefined
  const read = () => {
    // One query per scrape feeds both gauges.
    last ??= withTimeout(
      sql<{ issued: string; remaining: string }>`
        select coalesce(sum(issued_quantity), 0) as issued,
               coalesce(sum(total_quantity - issued_quantity)
                 filter (where expires_at is null or expires_at > now()), 0) as remaining
        from coupons`
        .execute(db)
        .then(({ rows }) => ({ issued: Number(rows[0]!.issued), remaining: Number(rows[0]!.remaining) })),
      1_000,
      'coupon totals',
    ).finally(() => setTimeout(() => (last = undefined), 0))
    return last
  }
  const gauge = (name: string, help: string, pick: (v: { issued: number; remaining: number }) => number) =>
    new Gauge({
      name: `${metricPrefix}${name}`,
      help,
      registers: [registry],
      async collect() {
        try {
          this.set(pick(await read()))
        } catch {
          // keep the last value: the postgres component of commerce_ready says why
        }
      },
    })
  gauge(
    'coupons_issued',
    'Coupon units issued, over all coupons (read from PostgreSQL at scrape)',
    (v) => v.issued,
  )
  gauge(
    'coupons_remaining',
    'Coupon units still issuable (total − issued) over coupons not expired (read from PostgreSQL at scrape)',
    (v) => v.remaining,
  )
}
