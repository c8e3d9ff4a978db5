/**
 * Capped exponential back-off for transient faults: a dependency that is down is waited for, never
 * skipped. `retryForever` gives up only when its signal aborts (shutdown).
 */
import { StreamsError } from './errors.ts'

export interface BackoffOptions {
  initialMs?: number
  maxMs?: number
  /** 0..1: how much of each delay is randomised, so instances that failed together do not retry together. */
  jitter?: number
  random?: () => number
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 100, maxMs = 5_000, jitter = 0.2, random = Math.random } = options
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
  return Math.round(base * (1 - jitter + jitter * random()))
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort() {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface RetryOptions extends BackoffOptions {
  signal?: AbortSignal
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  /** Called when an attempt succeeds after failed ones: a fault reported on retry is over. */
  onRecovered?: () => void
}

export async function retryForever<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await fn()
      if (attempt > 0) options.onRecovered?.()
      return result
    } catch (error) {
      if (options.signal?.aborted) throw error
      const delay = backoffDelay(attempt, options)
      options.onRetry?.(error, attempt, delay)
      await sleep(delay, options.signal)
    }
  }
}

/** Rejects with a timeout error when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StreamsError('TIMEOUT', `${what} did not answer within ${ms} ms`)),
      ms,
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
