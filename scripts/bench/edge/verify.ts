/**
 * Did the service do right by every request wrk sent? Each accepted request (a 202, or a 200 with its
 * decision) must have its `coupon_issue_requests` row — a 200's decision the row's — and its record on
 * `coupon-issue-topic`; every row must be decided, and the decisions must be exactly first come, first
 * served in the order the topic holds the requests, with every result event published (the coupon
 * benchmark's check, coupons/verify.ts, over the records the API published).
 */
import type { TopicNames } from '../../../processors/topics.ts'
import { expectedOutcomes, type Placed, readOrder, type Workload } from '../coupons/sale.ts'
import { type Correctness, verifyOurs } from '../coupons/verify.ts'
import type { KafkaScratch } from '../harness/infra.ts'
import { withClient } from '../harness/infra.ts'
import { fmtInt } from '../harness/report.ts'
import type { Shop } from './service.ts'

/** Requests with the same id: the relay publishes at least once, and the processor applies one copy. */
export function firstCopies(order: Placed[][]): Placed[][] {
  const seen = new Set<string>()
  return order.map((partition) =>
    partition.filter((r) => {
      if (seen.has(r.requestId)) return false
      seen.add(r.requestId)
      return true
    }),
  )
}

/**
 * `answers`: requestId → what the API answered (PENDING for a 202, the decision of a 200), over every
 * load run; `inFlight`: how many requests may have been committed without wrk seeing their answer —
 * one per connection at the end of each issue run (wrk stops without waiting), plus one per connection
 * wrk had to reopen (a socket error drops the request on it). Call once every row is decided and the
 * outbox is empty.
 */
export async function verifyEdge(
  databaseUrl: string,
  scratch: KafkaScratch,
  topics: TopicNames,
  shop: Shop,
  { answers, inFlight }: { answers: ReadonlyMap<string, string>; inFlight: number },
): Promise<Correctness> {
  const ends = await scratch.endOffsets(topics.COUPON_ISSUE)
  const order = firstCopies(await readOrder(scratch.brokers, topics.COUPON_ISSUE, ends))
  const workload: Workload = { ...shop, coldShare: 0, seed: 0 }
  const expected = expectedOutcomes(order, workload, 'holders-first')
  const check = await verifyOurs(databaseUrl, scratch, topics, expected, workload)
  const note = (s: string) => {
    if (check.examples.length < 5) check.examples.push(s)
  }
  const rows = await withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ request_id: string; status: string }>(
      'select request_id, status from coupon_issue_requests',
    )
    return new Map(rows.map((r) => [r.request_id, r.status]))
  })
  let missing = 0
  let contradicted = 0
  for (const [id, answered] of answers) {
    const status = rows.get(id)
    if (status === undefined) {
      missing++
      note(`answered ${answered} for ${id}, which has no row`)
    } else if (answered !== 'PENDING' && answered !== status) {
      contradicted++
      note(`answered ${answered} for ${id}, whose row says ${status}`)
    }
  }
  const undecided = [...rows.values()].filter((s) => s === 'PENDING').length
  const withoutRecord = [...rows.keys()].filter((id) => !expected.outcomes.has(id)).length
  const withoutRow = [...expected.outcomes.keys()].filter((id) => !rows.has(id)).length
  const unanswered = [...rows.keys()].filter((id) => !answers.has(id)).length
  check.found.set('accepted answers (202 or 200) / without their row', `${fmtInt(answers.size)} / ${missing}`)
  check.found.set('200 answers whose decision ≠ the row', fmtInt(contradicted))
  check.found.set(
    'rows / undecided / without their topic record / records without a row',
    `${fmtInt(rows.size)} / ${undecided} / ${withoutRecord} / ${withoutRow}`,
  )
  // More than could be in flight would be requests the API committed and then answered with no 2xx.
  check.found.set(
    'rows wrk saw no answer for / at most in flight at its stops',
    `${unanswered} / ${inFlight}`,
  )
  check.ok &&=
    missing === 0 &&
    contradicted === 0 &&
    undecided === 0 &&
    withoutRecord === 0 &&
    withoutRow === 0 &&
    unanswered <= inFlight
  return check
}
