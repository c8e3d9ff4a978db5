import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

export const metricPrefix = 'commerce_'

export interface ServiceMetrics {
  readonly registry: Registry
  /** 1 while a component answers, 0 otherwise; one series per component (postgres, redis, kafka, processors). */
  readonly ready: Gauge<'component'>
  /** Coupon issue requests refused with 503 OVERLOADED because the queue waiting for a statement was full. */
  readonly issueQueueRefused: Counter
}

/** One registry per service instance (not prom-client's global one), so tests can build many apps. */
export function createMetrics(): ServiceMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const ready = new Gauge({
    name: `${metricPrefix}ready`,
    help: 'Whether a component this instance depends on answers (1) or not (0)',
    labelNames: ['component'],
    registers: [registry],
  })
  const issueQueueRefused = new Counter({
    name: `${metricPrefix}issue_queue_refused_total`,
    help: 'Coupon issue requests refused (503 OVERLOADED) because the queue waiting for the database was full',
    registers: [registry],
  })
  return { registry, ready, issueQueueRefused }
}
