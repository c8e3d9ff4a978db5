import type { Gauge } from 'prom-client'
import { withTimeout } from '../topology/retry.ts'
import { describeError } from './errors.ts'

export const Components = ['postgres', 'redis', 'kafka', 'processors', 'relay', 'ranking'] as const
export type Component = (typeof Components)[number]

export interface HealthCheck {
  readonly component: Component
  /** Resolves when the component answers; rejects with the reason otherwise. */
  readonly check: () => Promise<void>
}

export interface ComponentStatus {
  ok: boolean
  ms: number
  error?: string
}

export interface HealthReport {
  ready: boolean
  components: Partial<Record<Component, ComponentStatus>>
  failing: Component[]
}

/** Runs every check in parallel, each bounded by `timeoutMs`, and mirrors the result into a gauge. */
export class Health {
  readonly #checks: HealthCheck[] = []
  readonly #gauge: Gauge<'component'> | undefined
  readonly #timeoutMs: number

  constructor(options: { gauge?: Gauge<'component'>; timeoutMs?: number } = {}) {
    this.#gauge = options.gauge
    this.#timeoutMs = options.timeoutMs ?? 2_000
  }

  add(check: HealthCheck): this {
    this.#checks.push(check)
    return this
  }

  async report(): Promise<HealthReport> {
    const results = await Promise.all(
      this.#checks.map(async ({ component, check }) => {
        const started = performance.now()
        try {
          await withTimeout(check(), this.#timeoutMs, component)
          return [component, { ok: true, ms: elapsed(started) }] as const
        } catch (error) {
          return [component, { ok: false, ms: elapsed(started), error: describeError(error) }] as const
        }
      }),
    )
    const components = Object.fromEntries(results) as HealthReport['components']
    const failing = results.filter(([, s]) => !s.ok).map(([c]) => c)
    for (const [component, status] of results) this.#gauge?.set({ component }, status.ok ? 1 : 0)
    return { ready: failing.length === 0, components, failing }
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10
