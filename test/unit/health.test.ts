import { Gauge, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { Health } from '../../service/health.ts'

describe('Health', () => {
  it('should report ready only when every component answers, and mirror it into the gauge', async () => {
    const registry = new Registry()
    const gauge = new Gauge({ name: 'ready', help: 'h', labelNames: ['component'], registers: [registry] })
    let redisUp = true
    const health = new Health({ gauge, timeoutMs: 50 })
      .add({ component: 'postgres', check: async () => {} })
      .add({
        component: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('not connected')
        },
      })
      .add({ component: 'kafka', check: () => new Promise(() => {}) })

    const down = await health.report()
    expect(down.ready).toBe(false)
    expect(down.failing).toEqual(['kafka'])
    expect(down.components.kafka?.error).toBe('kafka did not answer within 50 ms')

    redisUp = false
    const twoDown = await health.report()
    expect(twoDown.failing).toEqual(['redis', 'kafka'])
    expect(twoDown.components.redis).toMatchObject({ ok: false, error: 'not connected' })
    const values = (await gauge.get()).values.map((v) => [v.labels.component, v.value])
    expect(values).toEqual([
      ['postgres', 1],
      ['redis', 0],
      ['kafka', 0],
    ])
  })
})
