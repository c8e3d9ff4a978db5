/**
 * Reading the peer's results while it runs (READ_COMMITTED, so under exactly_once_v2 a result counts
 * only once its transaction committed), and checking them against first come, first served.
 */
import { randomUUID } from 'node:crypto'
import { Consumer } from '@platformatic/kafka'
import { Fetcher } from '../../../topology/runtime/fetcher.ts'

/** A result record as the peer writes it (the shop's CouponIssueResult). */
export interface PeerResult {
  requestId: string
  userId: number
  couponId: number
  status: 'ISSUED' | 'REJECTED'
  userCouponId?: number
  reason?: string
}

export interface Collected {
  /** The first result of each request id. */
  results: Map<string, PeerResult>
  /** Result records read in all (more than the request ids if a request was answered twice). */
  records: number
  /** Date.now() when the last missing request id's result was read. */
  doneAt: number
}

/**
 * Tails every partition of `topic` from its start until `expected` distinct request ids have a result,
 * `stop()` says to give up (the peer died), or `timeoutMs` passes. The Fetcher is the runtime's own: it
 * reads READ_COMMITTED and drops aborted transactions' records and the transaction markers.
 */
export async function collectResults(
  brokers: string[],
  topic: string,
  partitions: number,
  expected: number,
  { timeoutMs, stop }: { timeoutMs: number; stop: () => string | undefined },
): Promise<Collected> {
  const name = `bench-peer-reader-${randomUUID().slice(0, 8)}`
  const consumer = new Consumer({ clientId: name, groupId: name, bootstrapBrokers: brokers, retries: 0 })
  const fetcher = new Fetcher(consumer)
  const results = new Map<string, PeerResult>()
  let records = 0
  const next = Array.from({ length: partitions }, () => 0n)
  const deadline = Date.now() + timeoutMs
  try {
    while (results.size < expected) {
      const why = stop()
      if (why) throw new Error(`${why}; ${results.size} of ${expected} results read`)
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs / 1000}s: ${results.size} of ${expected} results read`)
      const fetched = await fetcher.fetch(next.map((offset, partition) => ({ topic, partition, offset })))
      let failed = false
      for (const f of fetched) {
        // A topic just created can answer an error for a moment (no leader yet): try again.
        if (f.errorCode !== 0) failed = true
        else next[f.partition] = f.nextOffset
        for (const r of f.records) {
          records++
          const result = JSON.parse((r.value as Buffer).toString('utf8')) as PeerResult
          if (!results.has(result.requestId)) results.set(result.requestId, result)
        }
      }
      if (failed) await new Promise((r) => setTimeout(r, 100))
    }
    return { results, records, doneAt: Date.now() }
  } finally {
    await consumer.close().catch(() => {})
  }
}

/** What each request should get (the benchmark's `expectedOutcomes`, holders checked first, as ours). */
export interface ExpectedOutcomes {
  /** requestId → ISSUED or the reject reason. */
  outcomes: Map<string, string>
  /** Per coupon: how many distinct users asked for it. */
  requesters: Map<number, number>
}

export interface PeerCheck {
  ok: boolean
  /** Request ids without a result, and results for ids that were never requested. */
  missing: number
  unknown: number
  /** Results other than the expected outcome. */
  wrong: number
  /** Request ids answered by more than one result record (0 under exactly-once). */
  duplicates: number
  /** Per coupon: ISSUED results, and what they must be: min(supply, distinct requesters). */
  issued: Array<{ couponId: number; issued: number; expected: number }>
  /** ISSUED to one (user, coupon) twice, or one user coupon id given twice. */
  doubleIssued: number
  examples: string[]
}

/**
 * Every request has exactly the expected outcome, each coupon issued min(supply, distinct requesters)
 * times, nobody twice; under exactly-once also no request answered twice (at-least-once may repeat a
 * result after a retry, and the first one counts).
 */
export function checkResults(
  c: Collected,
  expected: ExpectedOutcomes,
  supply: number,
  exactlyOnce: boolean,
): PeerCheck {
  const examples: string[] = []
  const example = (text: string) => examples.length < 5 && examples.push(text)
  let missing = 0
  let wrong = 0
  for (const [requestId, outcome] of expected.outcomes) {
    const r = c.results.get(requestId)
    if (!r) {
      missing++
      example(`${requestId}: no result`)
      continue
    }
    const got = r.status === 'ISSUED' ? 'ISSUED' : (r.reason ?? 'REJECTED without a reason')
    if (got !== outcome) {
      wrong++
      example(`${requestId} (user ${r.userId}, coupon ${r.couponId}): ${got}, expected ${outcome}`)
    }
  }
  const unknown = [...c.results.keys()].filter((id) => !expected.outcomes.has(id)).length
  const issuedBy = new Map<number, number>()
  const holders = new Set<string>()
  const ids = new Set<number>()
  let doubleIssued = 0
  for (const r of c.results.values()) {
    if (r.status !== 'ISSUED') continue
    issuedBy.set(r.couponId, (issuedBy.get(r.couponId) ?? 0) + 1)
    const holder = `${r.couponId}/${r.userId}`
    if (holders.has(holder) || ids.has(r.userCouponId!)) {
      doubleIssued++
      example(`coupon ${r.couponId} issued to user ${r.userId} twice (or id ${r.userCouponId} reused)`)
    }
    holders.add(holder)
    ids.add(r.userCouponId!)
  }
  const issued = [...expected.requesters.keys()]
    .sort((a, b) => a - b)
    .map((couponId) => ({
      couponId,
      issued: issuedBy.get(couponId) ?? 0,
      expected: Math.min(supply, expected.requesters.get(couponId)!),
    }))
  for (const i of issued) {
    if (i.issued !== i.expected) example(`coupon ${i.couponId}: ${i.issued} issued, expected ${i.expected}`)
  }
  const duplicates = c.records - c.results.size
  return {
    ok:
      missing === 0 &&
      unknown === 0 &&
      wrong === 0 &&
      doubleIssued === 0 &&
      (!exactlyOnce || duplicates === 0) &&
      issued.every((i) => i.issued === i.expected),
    missing,
    unknown,
    wrong,
    duplicates,
    issued,
    doubleIssued,
    examples,
  }
}
