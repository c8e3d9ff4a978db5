/**
 * What crosses between the facade's thread and the relay's worker thread (thread-relay.ts,
 * relay-worker.ts), and how the worker's metrics reach the facade's registry.
 *
 * The relay on the worker counts into a recorder that has the shape of the runtime's metrics: every
 * `inc`/`observe` it makes is kept by metric name and labels (increments summed, observations listed)
 * and sent once per round; the facade's thread makes the same calls on its own metrics. So the
 * registry the application scrapes holds the relay's counts as if it ran there, they survive the
 * worker's end, and the relay's code does not know where it runs.
 */
import type { RelayOptions } from './outbox-relay.ts'
import type { RelayHealth } from './relay.ts'

type Labels = Record<string, string | number>

/** Calls to one metric with one label set since the last send. */
export interface MetricCalls {
  readonly metric: string
  readonly labels: Labels | undefined
  /** The sum of its increments (a counter; undefined: none)... */
  inc: number | undefined
  /** ...and its observations, in order (a histogram). */
  readonly observed: number[]
}

export const RELAY_WORKER = 'commerce-streams/outbox-relay'

/** What the worker needs to run the relay: the relay's options, with a connection string for its own pool. */
export interface RelayWorkerData {
  readonly kind: typeof RELAY_WORKER
  readonly databaseUrl: string
  readonly relay: Omit<RelayOptions, 'db' | 'metrics' | 'log'>
}

export type ToWorker = { readonly type: 'nudge' } | { readonly type: 'stop' }

export type FromWorker =
  | { readonly type: 'metrics'; readonly calls: MetricCalls[] }
  | { readonly type: 'health'; readonly health: RelayHealth }
  | { readonly type: 'log'; readonly obj: object; readonly msg: string }
  /** A round ended, and whether it was full (publication behind): see `Relay.whenBehind`. */
  | { readonly type: 'round'; readonly behind: boolean }
  /** Its relay stopped (what was committed is published) and its pool is closed: it may be terminated. */
  | { readonly type: 'stopped' }

/** Stands in for the runtime's metrics on the worker: records the calls, `take()` hands them over. */
export class MetricRecorder {
  #pending = new Map<string, MetricCalls>()
  #byName = new Map<string, object>()
  readonly #onFirst: () => void

  /** `onFirst` is called on the first call after a `take()`: the worker schedules the send there. */
  constructor(onFirst: () => void) {
    this.#onFirst = onFirst
  }

  /** An object with a metric per property name, each with prom-client's `inc` and `observe`. */
  readonly metrics: object = new Proxy(
    {},
    {
      get: (_, name) => {
        if (typeof name !== 'string') return undefined
        let metric = this.#byName.get(name)
        if (!metric) {
          metric = {
            inc: (a?: Labels | number, b?: number) =>
              typeof a === 'object'
                ? this.#call(name, a, 'inc', b ?? 1)
                : this.#call(name, undefined, 'inc', a ?? 1),
            observe: (a: Labels | number, b?: number) =>
              typeof a === 'object'
                ? this.#call(name, a, 'observe', b ?? 0)
                : this.#call(name, undefined, 'observe', a),
          }
          this.#byName.set(name, metric)
        }
        return metric
      },
    },
  )

  /** The calls since the last take, and a fresh start. */
  take(): MetricCalls[] {
    const calls = [...this.#pending.values()]
    this.#pending = new Map()
    return calls
  }

  #call(metric: string, labels: Labels | undefined, kind: 'inc' | 'observe', value: number): void {
    if (this.#pending.size === 0) this.#onFirst()
    const key = labels ? `${metric}\u0000${JSON.stringify(labels)}` : metric
    let calls = this.#pending.get(key)
    if (!calls) {
      calls = { metric, labels, inc: undefined, observed: [] }
      this.#pending.set(key, calls)
    }
    if (kind === 'inc') calls.inc = (calls.inc ?? 0) + value
    else calls.observed.push(value)
  }
}

interface Replayable {
  inc?(labels: Labels, value: number): void
  inc?(value: number): void
  observe?(labels: Labels, value: number): void
  observe?(value: number): void
}

/** Makes the recorded calls on the facade's metrics; a metric it does not have is skipped. */
export function replayMetricCalls(metrics: object, calls: readonly MetricCalls[]): void {
  for (const { metric: name, labels, inc, observed } of calls) {
    const metric = (metrics as Record<string, Replayable | undefined>)[name]
    if (!metric) continue
    if (inc !== undefined) labels ? metric.inc?.(labels, inc) : metric.inc?.(inc)
    for (const value of observed) labels ? metric.observe?.(labels, value) : metric.observe?.(value)
  }
}
