import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { MetricRecorder, replayMetricCalls } from '../../topology/postgres/relay-messages.ts'
import { createRuntimeMetrics, type RuntimeMetrics } from '../../topology/runtime/metrics.ts'

describe('MetricRecorder and replayMetricCalls (the relay worker’s metrics)', () => {
  it('should give the facade’s registry the same values as calls made on it directly', async () => {
    const direct = new Registry()
    const replayed = new Registry()
    const directMetrics = createRuntimeMetrics(direct, 'x_')
    const replayedMetrics = createRuntimeMetrics(replayed, 'x_')
    let scheduled = 0
    const recorder = new MetricRecorder(() => scheduled++)
    const recorded = recorder.metrics as RuntimeMetrics

    for (const m of [directMetrics, recorded]) {
      m.outboxPublished.inc({ topic: 'a' })
      m.outboxPublished.inc({ topic: 'a' }, 4)
      m.outboxPublished.inc({ topic: 'b' }, 2)
      m.outboxRejected.inc({ topic: 'a', reason: 'MESSAGE_TOO_LARGE' })
      for (const seconds of [0.003, 0.04, 0.2, 7]) m.publishLatency.observe(seconds)
      m.outboxBacklog.inc(0) // an increment by 0 still creates the series
    }
    expect(scheduled).toBe(1) // one send per batch of calls
    replayMetricCalls(replayedMetrics, recorder.take())

    expect(await replayed.metrics()).toBe(await direct.metrics())
    expect(recorder.take()).toEqual([]) // taken once
  })

  it('should coalesce increments per label set and keep every observation', () => {
    const recorder = new MetricRecorder(() => {})
    const m = recorder.metrics as RuntimeMetrics
    for (let i = 0; i < 1000; i++) m.outboxPublished.inc({ topic: i % 2 ? 'odd' : 'even' })
    m.publishLatency.observe(1)
    m.publishLatency.observe(2)
    expect(recorder.take()).toEqual([
      { metric: 'outboxPublished', labels: { topic: 'even' }, inc: 500, observed: [] },
      { metric: 'outboxPublished', labels: { topic: 'odd' }, inc: 500, observed: [] },
      { metric: 'publishLatency', labels: undefined, inc: undefined, observed: [1, 2] },
    ])
  })

  it('should skip a metric the facade does not have, and schedule again after a take', () => {
    let scheduled = 0
    const recorder = new MetricRecorder(() => scheduled++)
    ;(recorder.metrics as Record<string, { inc(): void }>).noSuchMetric!.inc()
    expect(() => replayMetricCalls({}, recorder.take())).not.toThrow()
    ;(recorder.metrics as RuntimeMetrics).outboxPublished.inc({ topic: 't' })
    expect(scheduled).toBe(2)
  })
})
