/**
 * The order benchmark's checks, per phase: every order's final status is the one the input decides
 * (workload.ts), none is PENDING, the conservation laws of state/conservation.ts hold, and — ours —
 * each order has exactly one status event that says what its row says, every restore event the
 * compensation owed was published and applied once, and nothing went to a DLQ; — the seed style — the
 * Redis ranking holds the quantities of its COMPLETED orders.
 */
import { sql } from 'kysely'
import { createClient } from 'redis'
import { InternalTopics, topicNames } from '../../../processors/topics.ts'
import { checkConservation, type Invariant } from '../../../state/conservation.ts'
import { createDb } from '../../../state/db.ts'
import type { KafkaScratch } from '../harness/infra.ts'
import { readTopic } from '../harness/read.ts'
import type { BenchOrder } from './workload.ts'

export interface OrdersCheck {
  ok: boolean
  orders: number
  /** Final statuses by outcome (`COMPLETED`, `FAILED INSUFFICIENT_STOCK`…). */
  outcomes: Record<string, number>
  /** Orders whose status is not the one the input decides (PENDING or missing included). */
  wrong: number
  conservation: Invariant[]
  /** Ours: status events published, distinct orders among them, events ≠ their order's row. */
  statusEvents?: { published: number; distinct: number; mismatched: number }
  /** Ours: restore events owed, published, applied (APPLIED in applied_restores). */
  restores?: { owed: number; published: number; applied: number }
  dlq?: number
  /** The seed style: products whose ranking score ≠ the quantity its COMPLETED orders sold. */
  rankingMismatches?: number
  examples: string[]
}

const outcomeOf = (status: string, reason: string | null) => (reason ? `${status} ${reason}` : status)
const expectedOf = (o: BenchOrder) =>
  o.expected.status === 'FAILED' ? outcomeOf('FAILED', o.expected.reason) : 'COMPLETED'

/** Rows, outcomes and conservation: what both sides are checked on. */
async function checkRows(url: string, orders: readonly BenchOrder[]) {
  const db = createDb({ url, maxConnections: 4 })
  try {
    const { rows } = await sql<{ id: string; status: string; failure_reason: string | null }>`
      select id, status, failure_reason from orders`.execute(db)
    const actual = new Map(rows.map((r) => [Number(r.id), outcomeOf(r.status, r.failure_reason)]))
    const outcomes: Record<string, number> = {}
    const examples: string[] = []
    let wrong = 0
    for (const o of orders) {
      const got = actual.get(o.orderId) ?? 'missing'
      outcomes[got] = (outcomes[got] ?? 0) + 1
      if (got !== expectedOf(o)) {
        wrong++
        if (examples.length < 5) examples.push(`order ${o.orderId}: ${got}, expected ${expectedOf(o)}`)
      }
    }
    const conservation = await checkConservation(db)
    for (const law of conservation) if (!law.holds) examples.push(`${law.name}: ${law.violations.join('; ')}`)
    return { outcomes, wrong, conservation, examples, actual }
  } finally {
    await db.destroy()
  }
}

export async function verifyOurs(
  url: string,
  scratch: KafkaScratch,
  prefix: string,
  applicationId: string,
  orders: readonly BenchOrder[],
): Promise<OrdersCheck> {
  const { outcomes, wrong, conservation, examples, actual } = await checkRows(url, orders)
  const t = topicNames(prefix)
  const statusEnds = await scratch.endOffsets(t.ORDER_STATUS)
  const events = (
    await readTopic(scratch.brokers, t.ORDER_STATUS, statusEnds, (v) => JSON.parse(v.toString('utf8')))
  ).flat() as Array<{ orderId: number; status: string; reason?: string }>
  const seen = new Set<number>()
  let mismatched = 0
  for (const e of events) {
    seen.add(e.orderId)
    if (actual.get(e.orderId) !== outcomeOf(e.status, e.reason ?? null)) {
      mismatched++
      if (examples.length < 8) examples.push(`status event ${JSON.stringify(e)} ≠ its row`)
    }
  }
  const owed = orders.reduce((s, o) => s + o.restores.stock + o.restores.points, 0)
  const published = (await scratch.total(t.STOCK_RESTORE)) + (await scratch.total(t.POINT_RESTORE))
  const db = createDb({ url, maxConnections: 1 })
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from applied_restores where outcome = 'APPLIED'`.execute(db)
  await db.destroy()
  const applied = Number(rows[0]!.n)
  const dlqTopics = [
    ...Object.values(t).map((topic) => `${topic}.dlq`),
    ...Object.values(InternalTopics).map((name) => `${applicationId}-${name}.dlq`),
  ]
  let dlq = 0
  for (const topic of dlqTopics) dlq += await scratch.total(topic).catch(() => 0)
  const statusEvents = { published: events.length, distinct: seen.size, mismatched }
  const ok =
    wrong === 0 &&
    conservation.every((law) => law.holds) &&
    events.length === orders.length &&
    seen.size === orders.length &&
    mismatched === 0 &&
    published === owed &&
    applied === owed &&
    dlq === 0
  if (published !== owed || applied !== owed)
    examples.push(`restore events: owed ${owed}, published ${published}, applied ${applied}`)
  return {
    ok,
    orders: orders.length,
    outcomes,
    wrong,
    conservation,
    statusEvents,
    restores: { owed, published, applied },
    dlq,
    examples,
  }
}

export async function verifySeed(
  url: string,
  redisUrl: string,
  rankingKey: string,
  orders: readonly BenchOrder[],
): Promise<OrdersCheck> {
  const { outcomes, wrong, conservation, examples } = await checkRows(url, orders)
  const sold = new Map<number, number>()
  for (const o of orders)
    if (o.expected.status === 'COMPLETED')
      for (const l of o.lines) sold.set(l.productId, (sold.get(l.productId) ?? 0) + l.quantity)
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  const scores = new Map(
    (await redis.zRangeWithScores(rankingKey, 0, -1)).map((e) => [Number(e.value), e.score]),
  )
  await redis.quit()
  let rankingMismatches = 0
  for (const id of new Set([...sold.keys(), ...scores.keys()]))
    if ((sold.get(id) ?? 0) !== (scores.get(id) ?? 0)) {
      rankingMismatches++
      if (examples.length < 8)
        examples.push(`ranking: product ${id} scored ${scores.get(id) ?? 0}, sold ${sold.get(id) ?? 0}`)
    }
  const ok = wrong === 0 && conservation.every((law) => law.holds) && rankingMismatches === 0
  return { ok, orders: orders.length, outcomes, wrong, conservation, rankingMismatches, examples }
}
