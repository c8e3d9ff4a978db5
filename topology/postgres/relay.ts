/**
 * What the facade (and the service) see of the outbox relay, wherever it runs: `OutboxRelay` on the
 * caller's thread, or `ThreadRelay`, which runs an `OutboxRelay` on a worker thread of its own.
 */

export interface Relay {
  /** Starts publishing in the background. */
  start(): void
  /** Something committed: publish now instead of at the next poll. */
  nudge(): void
  /** Publishes what is committed now, then stops. */
  stop(): Promise<void>
  /** Why the relay counts as not ready (readiness), or undefined. */
  problem(now?: number): string | undefined
  /** The last publish error while failures continue; undefined when healthy. */
  readonly error: string | undefined
  /** Rows committed but not yet published. */
  backlog(): Promise<number>
  /** Rows moved to `outbox_rejected`, waiting for an operator. */
  rejectedRows(): Promise<number>
  /**
   * Publication backpressure: a promise while the relay is behind the commits (its last round was
   * full), settled after its next round; undefined when it keeps up. The runtime's fetch loop waits on it.
   */
  whenBehind?(): Promise<void> | undefined
}

/**
 * Whether a relay's last round was full, and who waits for its next round: the state behind
 * `Relay.whenBehind`, for the relay on this thread (OutboxRelay) and for its worker's reports (ThreadRelay).
 */
export class RoundSignal {
  #behind: boolean
  #waiting: Array<() => void> = []

  constructor(behind: boolean) {
    this.#behind = behind
  }

  /** While behind, a promise settled when the next round ends; otherwise undefined. */
  whenBehind(): Promise<void> | undefined {
    if (!this.#behind) return undefined
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  /** A round ended (or the relay stopped: `false`): records whether it was full, and settles the waiters. */
  ended(behind: boolean): void {
    this.#behind = behind
    const waiting = this.#waiting
    this.#waiting = []
    for (const resolve of waiting) resolve()
  }
}

/** What `problem()` is judged from: since when publishing fails, how often, and why. */
export interface RelayHealth {
  readonly failingSince: number | undefined
  readonly failures: number
  readonly lastError: string | undefined
}

/**
 * Publishing has failed for longer than `failingAfterMs`. A short blip does not flap readiness;
 * rejected rows do not count (the relay carries on past them, and the rejected-rows alert calls the
 * operator).
 */
export function relayProblem(health: RelayHealth, failingAfterMs: number, now: number): string | undefined {
  const { failingSince, failures, lastError } = health
  if (failingSince === undefined || now - failingSince < failingAfterMs) return undefined
  const seconds = Math.round((now - failingSince) / 1000)
  return `publishing has failed for ${seconds} s (${failures} attempts): ${lastError}`
}
