import { describe, expect, it } from 'vitest'
import { backoffDelay, retryForever, withTimeout } from '../../topology/retry.ts'

describe('backoffDelay', () => {
  it('should double from the initial delay and stop at the cap', () => {
    const fixed = { initialMs: 100, maxMs: 1_000, jitter: 0 }
    expect([0, 1, 2, 3, 4, 10, 100].map((a) => backoffDelay(a, fixed))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ])
  })

  it('should keep jittered delays within the jitter band', () => {
    expect(backoffDelay(3, { initialMs: 100, jitter: 0.5, random: () => 0 })).toBe(400)
    expect(backoffDelay(3, { initialMs: 100, jitter: 0.5, random: () => 1 })).toBe(800)
  })
})

describe('retryForever', () => {
  it('should retry until the operation succeeds, reporting each failure', async () => {
    let calls = 0
    const retries: number[] = []
    const result = await retryForever(
      async () => {
        calls++
        if (calls < 4) throw new Error(`fail ${calls}`)
        return 'ok'
      },
      { initialMs: 1, maxMs: 2, onRetry: (_e, attempt) => retries.push(attempt) },
    )
    expect(result).toBe('ok')
    expect(retries).toEqual([0, 1, 2])
  })

  it('should say it recovered only when a success follows failures', async () => {
    let recovered = 0
    const options = { initialMs: 1, maxMs: 2, onRecovered: () => recovered++ }
    await retryForever(async () => 'at once', options)
    expect(recovered).toBe(0)
    let calls = 0
    await retryForever(async () => {
      if (++calls < 3) throw new Error('not yet')
      return 'later'
    }, options)
    expect(recovered).toBe(1)
  })

  it('should stop waiting when its signal aborts', async () => {
    const stop = new AbortController()
    const running = retryForever(
      async () => {
        throw new Error('down')
      },
      { initialMs: 10_000, signal: stop.signal },
    )
    stop.abort(new Error('shutting down'))
    await expect(running).rejects.toThrow(/shutting down|down/)
  })
})

describe('withTimeout', () => {
  it('should reject a promise that does not settle in time, naming what it waited for', async () => {
    await expect(withTimeout(new Promise(() => {}), 5, 'redis')).rejects.toThrow(
      'redis did not answer within 5 ms',
    )
    await expect(withTimeout(Promise.resolve(7), 50, 'x')).resolves.toBe(7)
  })
})
