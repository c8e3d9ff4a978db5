/**
 * A StateBackend decorator for runtime tests on the real PostgreSQL backend: it records every claim,
 * can hold claims or commits at a gate, and can lose a commit's reply (the statement commits, then
 * the caller sees a connection error, as when the connection drops before the answer arrives).
 */
import type { BatchCommit, StateBackend, TaskId } from '../../topology/runtime/backend.ts'
import { taskName } from '../../topology/runtime/backend.ts'

/** A promise that stays pending until `open()`; `waiting` counts the callers held at it. */
export class Gate {
  #open = Promise.withResolvers<void>()
  #closed = false
  waiting = 0

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#open = Promise.withResolvers<void>()
  }

  open(): void {
    this.#closed = false
    this.#open.resolve()
  }

  async pass(): Promise<void> {
    if (!this.#closed) return
    this.waiting++
    await this.#open.promise
    this.waiting--
  }
}

export interface ClaimEvent {
  task: string
  /** Milliseconds since the probe was made, when the claim was asked for and when it answered. */
  startedAt: number
  endedAt?: number
}

/** The error a dropped connection gives (pg's), so the runtime treats it as transient. */
export class LostReplyError extends Error {
  readonly code = 'ECONNRESET'
  constructor() {
    super('Connection terminated unexpectedly (the test dropped the reply of a committed batch)')
  }
}

export class ProbeBackend implements StateBackend {
  readonly #inner: StateBackend
  readonly #t0 = performance.now()
  readonly claims: ClaimEvent[] = []
  readonly claimGate = new Gate()
  readonly commitGate = new Gate()
  /** Commits whose reply is still to be lost; each one commits for real and then throws. */
  loseReplies = 0
  lostReplies = 0

  constructor(inner: StateBackend) {
    this.#inner = inner
  }

  now(): number {
    return performance.now() - this.#t0
  }

  async claim(task: TaskId, owner: string, fallback: ReadonlyMap<string, bigint>) {
    const event: ClaimEvent = { task: taskName(task), startedAt: this.now() }
    this.claims.push(event)
    await this.claimGate.pass()
    const claim = await this.#inner.claim(task, owner, fallback)
    event.endedAt = this.now()
    return claim
  }

  loadStore(task: TaskId, store: string) {
    return this.#inner.loadStore(task, store)
  }

  loadKeys(task: TaskId, store: string, keys: readonly string[]) {
    return this.#inner.loadKeys(task, store, keys)
  }

  loadAppliedIds(task: TaskId, since: ReadonlyMap<string, bigint>) {
    if (!this.#inner.loadAppliedIds) throw new Error('the inner backend cannot de-duplicate')
    return this.#inner.loadAppliedIds(task, since)
  }

  async commit(batch: BatchCommit) {
    await this.commitGate.pass()
    const outcome = await this.#inner.commit(batch)
    if (this.loseReplies > 0) {
      this.loseReplies--
      this.lostReplies++
      throw new LostReplyError()
    }
    return outcome
  }
}
