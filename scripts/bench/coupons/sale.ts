/**
 * The flash sale the coupon benchmark runs: its users and coupons (inserted straight into the scratch
 * database, with the seed-style tables beside ours), its requests (a seeded pseudo-random sequence,
 * produced keyed by coupon straight to the topic), and the outcome each request must get, computed from
 * the order the topic really holds them in.
 */

import { OUTBOX_BACKLOG_SQL } from '../../../topology/postgres/outbox-relay.ts'
import { withClient } from '../harness/infra.ts'
import type { MakeRecord } from '../harness/produce.ts'
import { seededRandom } from '../harness/random.ts'
import { readTopic } from '../harness/read.ts'

export interface Workload {
  users: number
  coupons: number
  /** Units of each coupon. */
  supply: number
  /** Share of the requests that ask for the last coupon (the others share the rest evenly). */
  coldShare: number
  seed: number
}

export interface IssueRequest {
  requestId: string
  userId: number
  couponId: number
}

/**
 * `count` requests: users uniformly at random (so with duplicates: a user asks for a coupon several
 * times), coupons 1…c-1 equally likely and coupon c (the "cold" one) with `coldShare`, so that one
 * coupon does not sell out and `issued = min(supply, distinct requesters)` is checked on both sides.
 */
export function makeRequests(w: Workload, count: number): IssueRequest[] {
  const next = seededRandom(w.seed)
  const requests: IssueRequest[] = []
  for (let i = 0; i < count; i++) {
    const couponId = next() < w.coldShare ? w.coupons : 1 + Math.floor(next() * (w.coupons - 1))
    const userId = 1 + Math.floor(next() * w.users)
    requests.push({ requestId: `bench-${i}`, userId, couponId })
  }
  return requests
}

/**
 * Users 1…users and coupons 1…coupons (ours, in the migrated schema); the seed style's own tables —
 * its coupon has the `version` column of the seed's JPA entity (@Version), its user coupons the
 * (user, coupon) unique constraint, and its outcome rows mirror ours — over the same users.
 */
export async function insertShop(url: string, w: Workload): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(
      `insert into users (id, name) select g, 'user-' || g from generate_series(1, $1::int) g`,
      [w.users],
    )
    await client.query(`select setval('users_id_seq', $1::int)`, [w.users])
    await client.query(
      `insert into coupons (id, name, discount_type, discount_value, total_quantity)
       select g, 'coupon-' || g, 'AMOUNT', 1000, $2::int from generate_series(1, $1::int) g`,
      [w.coupons, w.supply],
    )
    await client.query(`select setval('coupons_id_seq', $1::int)`, [w.coupons])
    await client.query(`
      create table seed_coupons (
        id bigint primary key,
        total_quantity integer not null,
        issued_quantity integer not null default 0,
        version bigint not null default 0,
        expires_at timestamptz,
        constraint seed_coupons_issued_within_total check (issued_quantity between 0 and total_quantity)
      );
      create table seed_user_coupons (
        id bigserial primary key,
        user_id bigint not null references users (id),
        coupon_id bigint not null references seed_coupons (id),
        used boolean not null default false,
        issued_at timestamptz not null,
        constraint seed_user_coupons_one_per_user unique (user_id, coupon_id)
      );
      create table seed_coupon_issue_requests (
        request_id text primary key,
        coupon_id bigint not null,
        user_id bigint not null,
        status text not null check (status in ('ISSUED', 'REJECTED')),
        reason text,
        user_coupon_id bigint,
        decided_at timestamptz not null
      );
      create index seed_coupon_issue_requests_coupon on seed_coupon_issue_requests (coupon_id);`)
    await client.query(
      `insert into seed_coupons (id, total_quantity) select g, $2::int from generate_series(1, $1::int) g`,
      [w.coupons, w.supply],
    )
    // Fresh tables: statistics now, as autovacuum (off on the CI machines) would eventually do.
    await client.query('analyze')
  })
}

/** Back to a sale that has not started: no user coupons, no outcomes, every coupon's counter at 0. */
export async function resetShop(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query('truncate user_coupons, coupon_issue_requests')
    await client.query('update coupons set issued_quantity = 0')
    const { rows } = await client.query<{ n: number }>(`select ${OUTBOX_BACKLOG_SQL}::int as n`)
    if (rows[0]?.n) throw new Error(`the outbox still holds ${rows[0].n} unpublished records`)
  })
}

/** A request as `produceBulk` produces it: keyed by coupon, so a coupon's requests share a partition. */
export const requestRecord =
  (requests: readonly IssueRequest[]): MakeRecord =>
  (i) => ({
    key: Buffer.from(String(requests[i]!.couponId)),
    value: Buffer.from(JSON.stringify(requests[i])),
  })

/** A request as the topic holds it: where, and in which order within its partition. */
export interface Placed extends IssueRequest {
  partition: number
}

/** The requests in the order the topic holds them (concurrent sends may interleave within a partition). */
export const readOrder = (brokers: string[], topic: string, ends: bigint[]) =>
  readTopic<Placed>(brokers, topic, ends, (value, partition) => ({
    ...(JSON.parse(value.toString('utf8')) as IssueRequest),
    partition,
  }))

/**
 * In which order each design checks a request that both "already holds it" and "sold out" would
 * reject: ours asks the holders first (ALREADY_ISSUED), the seed's listener checks availability before
 * duplicates (SOLD_OUT), as its section 1.2 lists them. The winners are the same either way.
 */
export type CheckOrder = 'holders-first' | 'availability-first'

export interface Expected {
  /** requestId → ISSUED or the reject reason. */
  outcomes: Map<string, string>
  /** Per coupon: its winners in first-come order, and how many distinct users asked for it. */
  winners: Map<number, number[]>
  requesters: Map<number, number>
  requests: Map<number, number>
  /** Per coupon: the partition holding it. */
  partitionOf: Map<number, number>
}

/** The outcome of every request, first come first served per coupon in its partition's order. */
export function expectedOutcomes(order: Placed[][], w: Workload, checks: CheckOrder): Expected {
  const outcomes = new Map<string, string>()
  const winners = new Map<number, number[]>()
  const holders = new Map<number, Set<number>>()
  const askers = new Map<number, Set<number>>()
  const requests = new Map<number, number>()
  const partitionOf = new Map<number, number>()
  for (const partition of order) {
    for (const r of partition) {
      partitionOf.set(r.couponId, r.partition)
      requests.set(r.couponId, (requests.get(r.couponId) ?? 0) + 1)
      const asked = askers.get(r.couponId) ?? new Set<number>()
      askers.set(r.couponId, asked)
      asked.add(r.userId)
      const held = holders.get(r.couponId) ?? new Set<number>()
      holders.set(r.couponId, held)
      const won = winners.get(r.couponId) ?? []
      winners.set(r.couponId, won)
      let outcome: string
      if (r.couponId < 1 || r.couponId > w.coupons) outcome = 'COUPON_NOT_FOUND'
      else if (r.userId < 1 || r.userId > w.users) outcome = 'USER_NOT_FOUND'
      else {
        const holds = held.has(r.userId)
        const soldOut = won.length >= w.supply
        if (checks === 'holders-first') outcome = holds ? 'ALREADY_ISSUED' : soldOut ? 'SOLD_OUT' : 'ISSUED'
        else outcome = soldOut ? 'SOLD_OUT' : holds ? 'ALREADY_ISSUED' : 'ISSUED'
      }
      if (outcome === 'ISSUED') {
        held.add(r.userId)
        won.push(r.userId)
      }
      if (outcomes.has(r.requestId)) throw new Error(`request id ${r.requestId} appears twice in the topic`)
      outcomes.set(r.requestId, outcome)
    }
  }
  return {
    outcomes,
    winners,
    requesters: new Map([...askers].map(([c, s]) => [c, s.size])),
    requests,
    partitionOf,
  }
}
