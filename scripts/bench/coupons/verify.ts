/**
 * Did each phase decide right? Every request must have exactly the outcome first come, first served
 * gives it in its partition's order (expectedOutcomes), each coupon must be issued to
 * min(supply, distinct requesters) users — exactly its first distinct requesters, in that order — with
 * no user holding a coupon twice, and the coupon's counter must equal its holders. For ours, every
 * result event must be published once and agree with its outcome row; for the seed style, the Kafka
 * offsets committed must cover every message.
 */
import { Consumer } from '@platformatic/kafka'
import type pg from 'pg'
import type { TopicNames } from '../../../processors/topics.ts'
import { OUTBOX_BACKLOG_SQL } from '../../../topology/postgres/outbox-relay.ts'
import { withTimeout } from '../../../topology/retry.ts'
import { dlqTopic } from '../../../topology/topic-admin.ts'
import { type KafkaScratch, withClient } from '../harness/infra.ts'
import { readTopic } from '../harness/read.ts'
import { fmtInt } from '../harness/report.ts'
import type { Expected, Workload } from './sale.ts'

export interface CouponCheck {
  couponId: number
  partition: number
  requests: number
  requesters: number
  issued: number
  expected: number
}

export interface Correctness {
  /** Its column of the correctness table: each check and what it found. */
  found: Map<string, string>
  coupons: CouponCheck[]
  examples: string[]
  ok: boolean
}

/** The checks only one side has: ours publishes result events, the seed style commits offsets to Kafka. */
const RESULTS = 'result events: published / distinct request ids / ≠ outcome row'
const LEFT = 'DLQ records / outbox rows left'
const OFFSETS = 'Kafka offsets committed (messages)'

type Tables = { requests: string; userCoupons: string; coupons: string }
const OURS: Tables = { requests: 'coupon_issue_requests', userCoupons: 'user_coupons', coupons: 'coupons' }
const SEED: Tables = {
  requests: 'seed_coupon_issue_requests',
  userCoupons: 'seed_user_coupons',
  coupons: 'seed_coupons',
}

async function checkTables(
  client: pg.Client,
  t: Tables,
  expected: Expected,
  w: Workload,
  versioned: boolean,
): Promise<Correctness> {
  const examples: string[] = []
  const note = (s: string) => {
    if (examples.length < 5) examples.push(s)
  }
  const { rows: outcomes } = await client.query<{
    request_id: string
    status: string
    reason: string | null
  }>(`select request_id, status, reason from ${t.requests} where status <> 'PENDING'`)
  let mismatched = 0
  const seen = new Set<string>()
  for (const o of outcomes) {
    seen.add(o.request_id)
    const want = expected.outcomes.get(o.request_id)
    const got = o.status === 'ISSUED' ? 'ISSUED' : (o.reason ?? o.status)
    if (want !== got) {
      mismatched++
      note(`${o.request_id}: ${got}, expected ${want ?? 'no such request'}`)
    }
  }
  for (const id of expected.outcomes.keys()) {
    if (!seen.has(id)) {
      mismatched++
      note(`${id}: no outcome`)
    }
  }
  const { rows: holders } = await client.query<{ coupon: number; user: number }>(
    `select coupon_id::int as coupon, user_id::int as user from ${t.userCoupons} order by id`,
  )
  const held = new Map<number, number[]>()
  for (const h of holders) held.set(h.coupon, [...(held.get(h.coupon) ?? []), h.user])
  const { rows: twice } = await client.query<{ n: number }>(
    `select count(*)::int as n from (select 1 from ${t.userCoupons} group by user_id, coupon_id having count(*) > 1) d`,
  )
  const { rows: counters } = await client.query<{ id: number; issued: number; version: number | null }>(
    `select id::int, issued_quantity as issued, ${versioned ? 'version::int' : 'null::int'} as version from ${t.coupons}`,
  )
  let wrongHolders = 0
  let wrongCounters = 0
  const coupons: CouponCheck[] = []
  for (let couponId = 1; couponId <= w.coupons; couponId++) {
    const users = held.get(couponId) ?? []
    const winners = expected.winners.get(couponId) ?? []
    const requesters = expected.requesters.get(couponId) ?? 0
    coupons.push({
      couponId,
      partition: expected.partitionOf.get(couponId) ?? -1,
      requests: expected.requests.get(couponId) ?? 0,
      requesters,
      issued: users.length,
      expected: Math.min(w.supply, requesters),
    })
    if (users.length !== winners.length || users.some((u, i) => u !== winners[i])) {
      wrongHolders++
      note(
        `coupon ${couponId}: ${users.length} holders, expected the first ${winners.length} distinct requesters`,
      )
    }
    const counter = counters.find((c) => c.id === couponId)
    if (counter?.issued !== users.length || (versioned && counter.version !== users.length)) {
      wrongCounters++
      note(
        `coupon ${couponId}: issued_quantity ${counter?.issued}${versioned ? `, version ${counter?.version}` : ''}, ${users.length} holders`,
      )
    }
  }
  const issued = coupons.reduce((s, c) => s + c.issued, 0)
  const expectedIssued = coupons.reduce((s, c) => s + c.expected, 0)
  const duplicates = twice[0]?.n ?? 0
  const found = new Map([
    ['requests', fmtInt(expected.outcomes.size)],
    ['decided outcome rows', fmtInt(outcomes.length)],
    ['outcomes ≠ first come, first served', fmtInt(mismatched)],
    ['issued / Σ min(supply, distinct requesters)', `${fmtInt(issued)} / ${fmtInt(expectedIssued)}`],
    ['coupons sold out', `${coupons.filter((c) => c.issued >= w.supply).length} of ${w.coupons}`],
    ['(user, coupon) issued twice', fmtInt(duplicates)],
    ['coupons whose holders ≠ their first distinct requesters, in order', fmtInt(wrongHolders)],
    ['coupons whose issued_quantity (seed: and version) ≠ holders', fmtInt(wrongCounters)],
  ])
  return {
    found,
    coupons,
    examples,
    ok:
      mismatched === 0 &&
      outcomes.length === expected.outcomes.size &&
      issued === expectedIssued &&
      duplicates === 0 &&
      wrongHolders === 0 &&
      wrongCounters === 0,
  }
}

export async function verifyOurs(
  url: string,
  scratch: KafkaScratch,
  topics: TopicNames,
  expected: Expected,
  w: Workload,
): Promise<Correctness> {
  const results = topics.COUPON_ISSUE_RESULT
  return withClient(url, async (client) => {
    const c = await checkTables(client, OURS, expected, w, false)
    const { rows } = await client.query<{ request_id: string; status: string; reason: string | null }>(
      `select request_id, status, reason from coupon_issue_requests`,
    )
    const byRequest = new Map(rows.map((r) => [r.request_id, r.status === 'ISSUED' ? 'ISSUED' : r.reason]))
    const ends = await scratch.endOffsets(results)
    const events = await readTopic(scratch.brokers, results, ends, (value) => {
      const v = JSON.parse(value.toString('utf8')) as { requestId: string; status: string; reason?: string }
      return { requestId: v.requestId, outcome: v.status === 'ISSUED' ? 'ISSUED' : v.reason }
    })
    const distinct = new Map<string, string | undefined>()
    let mismatched = 0
    for (const e of events.flat()) {
      const earlier = distinct.get(e.requestId)
      if ((earlier !== undefined && earlier !== e.outcome) || byRequest.get(e.requestId) !== e.outcome) {
        mismatched++
        if (c.examples.length < 5)
          c.examples.push(`result ${e.requestId}: ${e.outcome}, row ${byRequest.get(e.requestId)}`)
      }
      distinct.set(e.requestId, e.outcome)
    }
    const { rows: outbox } = await client.query<{ n: number }>(`select ${OUTBOX_BACKLOG_SQL}::int as n`)
    const published = events.reduce((s, p) => s + p.length, 0)
    const dlq = await scratch.total(dlqTopic(topics.COUPON_ISSUE))
    const left = outbox[0]?.n ?? 0
    c.found.set(RESULTS, `${fmtInt(published)} / ${fmtInt(distinct.size)} / ${fmtInt(mismatched)}`)
    c.found.set(LEFT, `${dlq} / ${left}`)
    c.found.set(OFFSETS, '- (in PostgreSQL)')
    c.ok &&= distinct.size === expected.outcomes.size && mismatched === 0 && dlq === 0 && left === 0
    return c
  })
}

export async function verifySeed(
  url: string,
  scratch: KafkaScratch,
  { topic, group, ends }: { topic: string; group: string; ends: bigint[] },
  expected: Expected,
  w: Workload,
): Promise<Correctness> {
  const c = await withClient(url, (client) => checkTables(client, SEED, expected, w, true))
  c.found.set(RESULTS, '- (publishes none)')
  c.found.set(LEFT, '-')
  let offsetsCommitted: number | undefined
  const consumer = new Consumer({
    clientId: `${group}-check`,
    groupId: group,
    bootstrapBrokers: scratch.brokers,
  })
  try {
    const committed = await withTimeout(
      consumer.listCommittedOffsets({ topics: [{ topic, partitions: ends.map((_, p) => p) }] }),
      15_000,
      'listCommittedOffsets',
    )
    const offsets = committed.get(topic) ?? []
    offsetsCommitted = offsets.reduce((s, o) => s + Math.max(0, Number(o)), 0)
  } catch (error) {
    c.examples.push(`could not read the group's committed offsets: ${(error as Error).message}`)
  } finally {
    await consumer.close().catch(() => {})
  }
  c.found.set(OFFSETS, fmtInt(offsetsCommitted ?? 0))
  c.ok &&= offsetsCommitted === expected.outcomes.size
  return c
}
