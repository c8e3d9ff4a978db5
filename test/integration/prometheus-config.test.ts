/**
 * Checks the Prometheus configuration, the alert rules and the dashboard queries with Prometheus's
 * own `promtool`, offline. promtool comes from the Debian package `prometheus`, which
 * scripts/ensure-prometheus.sh installs; a missing promtool fails these tests rather than skipping
 * them, so a machine without it cannot pass CI unnoticed.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'

const root = new URL('../../', import.meta.url)
const repoPath = (relative: string): string => fileURLToPath(new URL(relative, root))
const PROMETHEUS_CONFIG = repoPath('grafana/prometheus/prometheus.yml')
const ALERT_RULES = repoPath('grafana/prometheus/alerts.yml')
const DASHBOARDS = ['commerce-streams.json', 'shop.json'].map((f) => repoPath(`grafana/dashboards/${f}`))

const scratch = mkdtempSync(join(tmpdir(), 'commerce-promtool-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Runs promtool; its output comes back in the assertion message when it fails. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 })
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(
      'promtool is not on PATH: run scripts/ensure-prometheus.sh (it installs the Debian package "prometheus")',
    )
  }
  if (result.error) throw result.error
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

function writeScratch(name: string, content: unknown): string {
  const file = join(scratch, name)
  writeFileSync(file, stringify(content))
  return file
}

const app = { job: 'commerce-streams', instance: 'app:3000' }
const series = (name: string, labels: Record<string, string>): string =>
  `${name}{${Object.entries({ ...app, ...labels })
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`

describe('grafana/prometheus', () => {
  it('grafana/prometheus/prometheus.yml should pass promtool check config', () => {
    const { status, output } = promtool('check', 'config', PROMETHEUS_CONFIG)
    expect(status, output).toBe(0)
  })

  it('grafana/prometheus/alerts.yml should pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', ALERT_RULES)
    expect(status, output).toBe(0)
  })

  it('grafana/prometheus/alerts.yml should fire each alert on a fault and stay quiet when healthy', () => {
    const lag = { topic: 'order-created-topic', partition: '2' }
    const dlq = { topic: 'coupon-issue-topic' }
    const faults = {
      interval: '1m',
      input_series: [
        { series: series('up', {}), values: '0x15' },
        { series: series('commerce_ready', { component: 'redis' }), values: '0x15' },
        { series: series('commerce_ready', { component: 'postgres' }), values: '1x15' },
        { series: series('commerce_partition_lag_records', lag), values: '1500x15' },
        // One DLQ record at minute 3, none after.
        { series: series('commerce_records_dlq_total', dlq), values: '0 0 0 1x12' },
        // Seven offsets lost to retention at minute 3.
        { series: series('commerce_records_skipped_total', lag), values: '0 0 0 7x20' },
        // Two rows moved aside at minute 3, still waiting for an operator.
        { series: series('commerce_outbox_rejected_records', {}), values: '0 0 0 2x12' },
        { series: series('nodejs_eventloop_lag_p99_seconds', {}), values: '0.8x15' },
        { series: series('process_resident_memory_bytes', {}), values: '2000000000x15' },
      ],
      alert_rule_test: [
        {
          eval_time: '2m',
          alertname: 'CommerceStreamsInstanceDown',
          exp_alerts: [
            {
              exp_labels: { ...app, severity: 'critical' },
              exp_annotations: {
                summary: 'commerce-streams instance app:3000 is down',
                description: 'Prometheus has not been able to scrape app:3000 for 1 minute.',
              },
            },
          ],
        },
        {
          eval_time: '2m',
          alertname: 'CommerceStreamsNotReady',
          exp_alerts: [
            {
              exp_labels: { ...app, component: 'redis', severity: 'critical' },
              exp_annotations: {
                summary: 'commerce-streams app:3000: redis not ready',
                description:
                  'redis has not answered for 1 minute; processing waits (it does not skip) until it is back. See /health/ready on app:3000.',
              },
            },
          ],
        },
        // Lag must last 5 minutes before it pages anyone.
        { eval_time: '4m', alertname: 'CommerceStreamsPartitionLagHigh', exp_alerts: [] },
        {
          eval_time: '6m',
          alertname: 'CommerceStreamsPartitionLagHigh',
          exp_alerts: [
            {
              exp_labels: { ...app, ...lag, severity: 'warning' },
              exp_annotations: {
                summary: 'Lag on order-created-topic[2] is 1500 records',
                description:
                  'order-created-topic partition 2 has been more than 1000 records behind for 5 minutes: the processor is stalled or too slow for the input rate.',
              },
            },
          ],
        },
        { eval_time: '2m', alertname: 'CommerceStreamsDeadLetters', exp_alerts: [] },
        {
          eval_time: '4m',
          alertname: 'CommerceStreamsDeadLetters',
          exp_alerts: [
            {
              exp_labels: { ...dlq, severity: 'warning' },
              exp_annotations: {
                summary: 'Records from coupon-issue-topic went to coupon-issue-topic.dlq',
                description:
                  '1 record(s) of coupon-issue-topic could not be parsed or validated in the last 5 minutes; their error headers in coupon-issue-topic.dlq say why.',
              },
            },
          ],
        },
        // Five minutes after the last DLQ record the alert clears, though the counter stays at 1.
        { eval_time: '10m', alertname: 'CommerceStreamsDeadLetters', exp_alerts: [] },
        { eval_time: '2m', alertname: 'CommerceStreamsRecordsSkipped', exp_alerts: [] },
        {
          eval_time: '4m',
          alertname: 'CommerceStreamsRecordsSkipped',
          exp_alerts: [
            {
              exp_labels: { ...lag, severity: 'critical' },
              exp_annotations: {
                summary: 'Offsets of order-created-topic[2] were skipped unread',
                description:
                  'They were deleted from the log before the processor read them (retention shorter than an outage, or deleteRecords). The service log says from which offset to which; they can only be recovered from the producer.',
              },
            },
          ],
        },
        // Fifteen minutes after the skip the alert clears.
        { eval_time: '20m', alertname: 'CommerceStreamsRecordsSkipped', exp_alerts: [] },
        { eval_time: '2m', alertname: 'CommerceStreamsOutboxRejected', exp_alerts: [] },
        {
          eval_time: '4m',
          alertname: 'CommerceStreamsOutboxRejected',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical' },
              exp_annotations: {
                summary: '2 output record(s) moved to outbox_rejected',
                description:
                  "The broker refused them for good; commerce_outbox_rejected_total says which topic and why, the table's cause column says how. Replay them (SQL in topology/postgres/outbox-relay.ts) once the cause is fixed, or delete them.",
              },
            },
          ],
        },
        {
          eval_time: '6m',
          alertname: 'CommerceStreamsEventLoopLagHigh',
          exp_alerts: [
            {
              exp_labels: { ...app, severity: 'warning' },
              exp_annotations: {
                summary: 'Event-loop lag p99 on app:3000 is 0.8s',
                description: 'The event loop has been blocked for more than 500 ms (p99) for 5 minutes.',
              },
            },
          ],
        },
        {
          eval_time: '11m',
          alertname: 'CommerceStreamsMemoryHigh',
          exp_alerts: [
            {
              exp_labels: { ...app, severity: 'warning' },
              exp_annotations: {
                summary: 'commerce-streams app:3000 uses 1.863GiB of memory',
                description: 'Resident memory has been above 1.5 GB for 10 minutes.',
              },
            },
          ],
        },
      ],
    }
    const healthy = {
      interval: '1m',
      input_series: [
        { series: series('up', {}), values: '1x15' },
        { series: series('commerce_ready', { component: 'kafka' }), values: '1x15' },
        { series: series('commerce_partition_lag_records', { topic: 't', partition: '0' }), values: '20x15' },
        // A counter that stands still, however high, is no new dead letter.
        { series: series('commerce_records_dlq_total', { topic: 't' }), values: '7x15' },
        { series: series('commerce_outbox_rejected_records', {}), values: '0x15' },
        { series: series('nodejs_eventloop_lag_p99_seconds', {}), values: '0.01x15' },
        { series: series('process_resident_memory_bytes', {}), values: '150000000x15' },
      ],
      alert_rule_test: [
        'CommerceStreamsInstanceDown',
        'CommerceStreamsNotReady',
        'CommerceStreamsPartitionLagHigh',
        'CommerceStreamsDeadLetters',
        'CommerceStreamsOutboxRejected',
        'CommerceStreamsEventLoopLagHigh',
        'CommerceStreamsMemoryHigh',
      ].map((alertname) => ({ eval_time: '12m', alertname, exp_alerts: [] })),
    }
    const file = writeScratch('alerts.test.yml', {
      rule_files: [ALERT_RULES],
      evaluation_interval: '1m',
      tests: [faults, healthy],
    })
    const { status, output } = promtool('test', 'rules', file)
    expect(status, output).toBe(0)
  })

  it.each(DASHBOARDS)('%s should query with valid PromQL', (path) => {
    // promtool parses every expr of a rules file: the panel queries become recording rules.
    const dashboard = JSON.parse(readFileSync(path, 'utf8')) as {
      panels: { id: number; targets?: { expr?: string }[] }[]
    }
    const rules = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target, i) => ({
        record: `dashboard:panel_${panel.id}_${i}`,
        expr: target.expr,
      })),
    )
    expect(rules.length).toBeGreaterThan(0)
    const file = writeScratch('dashboard-queries.yml', { groups: [{ name: 'dashboard', rules }] })
    const { status, output } = promtool('check', 'rules', file)
    expect(status, output).toBe(0)
  })
})
