/**
 * Waits for coupon issue decisions, so `POST /coupons/:id/issue?waitMs=N` can answer most people in
 * one round trip. One loop polls for every waiting request at once — one indexed query per interval,
 * however many wait — and the decision is read from the row the coupon processor committed, so it
 * works whichever instance runs the processor. Waiting is bounded: past `maxWaiting` requests, or at
 * a request's deadline, the caller gets undefined and answers 202 PENDING as without `waitMs`.
 */
import { type Kysely, sql } from 'kysely'
import { arrayLiteral } from '../topology/postgres/array-literal.ts'
import type { IssueRequest } from './coupon-requests.ts'
import type { Database } from './schema.ts'

export interface DecisionWatchOptions {
  /** Between polls while anyone waits (default 10 ms: a decision is seen at most that late). */
  intervalMs?: number
  /** Requests that may wait at once (default 10,000); beyond, a request does not wait. */
  maxWaiting?: number
}

interface Waiter {
  readonly deadline: number
  resolve(decision: IssueRequest | undefined): void
}

export class DecisionWatch {
  readonly #db: Kysely<Database>
  readonly #intervalMs: number
  readonly #maxWaiting: number
  readonly #waiting = new Map<string, Waiter[]>()
  #size = 0
  #timer: NodeJS.Timeout | undefined

  constructor(db: Kysely<Database>, options: DecisionWatchOptions = {}) {
    this.#db = db
    this.#intervalMs = options.intervalMs ?? 10
    this.#maxWaiting = options.maxWaiting ?? 10_000
  }

  /** The request's decision once it is taken, or undefined if not within `ms` (or too many wait). */
  wait(requestId: string, ms: number): Promise<IssueRequest | undefined> {
    if (ms <= 0 || this.#size >= this.#maxWaiting) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const list = this.#waiting.get(requestId) ?? []
      list.push({ deadline: Date.now() + ms, resolve })
      this.#waiting.set(requestId, list)
      this.#size++
      this.#schedule()
    })
  }

  /** Answers every waiter with undefined (on shutdown: they get their 202 at once). */
  close(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const id of [...this.#waiting.keys()]) this.#settle(id, undefined)
  }

  #schedule(): void {
    if (this.#timer === undefined && this.#size > 0)
      this.#timer = setTimeout(() => void this.#poll(), this.#intervalMs)
  }

  async #poll(): Promise<void> {
    try {
      const ids = [...this.#waiting.keys()]
      const { rows } = await sql<{
        request_id: string
        coupon_id: string
        user_id: string
        status: 'ISSUED' | 'REJECTED'
        reason: IssueRequest['reason']
        user_coupon_id: string | null
      }>`
        select request_id, coupon_id, user_id, status, reason, user_coupon_id from coupon_issue_requests
        where request_id = any(${arrayLiteral(ids)}::text[]) and status <> 'PENDING'`.execute(this.#db)
      for (const r of rows)
        this.#settle(r.request_id, {
          requestId: r.request_id,
          couponId: Number(r.coupon_id),
          userId: Number(r.user_id),
          status: r.status,
          reason: r.reason,
          userCouponId: r.user_coupon_id === null ? null : Number(r.user_coupon_id),
        })
    } catch {
      // The database is away: the waiters keep waiting until their deadline, then answer 202.
    }
    const now = Date.now()
    for (const [id, list] of this.#waiting) {
      const expired = list.filter((w) => w.deadline <= now)
      if (expired.length === 0) continue
      for (const w of expired) w.resolve(undefined)
      this.#size -= expired.length
      const left = list.filter((w) => w.deadline > now)
      if (left.length > 0) this.#waiting.set(id, left)
      else this.#waiting.delete(id)
    }
    this.#timer = undefined
    this.#schedule()
  }

  #settle(requestId: string, decision: IssueRequest | undefined): void {
    const list = this.#waiting.get(requestId)
    if (!list) return
    this.#waiting.delete(requestId)
    this.#size -= list.length
    for (const w of list) w.resolve(decision)
  }
}
