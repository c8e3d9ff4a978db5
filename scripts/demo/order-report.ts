/** The order rush's report: outcomes, compensations, time to final status, and the conservation laws. */
import { sql } from 'kysely'
import { createClient } from 'redis'
import type { Config } from '../../service/config.ts'
import { checkConservation, soldByDay } from '../../state/conservation.ts'
import { createDb } from '../../state/db.ts'
import { rankingKeys } from '../../state/ranking-keys.ts'
import { percentile } from './http.ts'

const out = (text: string) => process.stdout.write(`${text}\n`)

export async function reportOrders(config: Config, ids: readonly number[]): Promise<boolean> {
  const db = createDb({ url: config.databaseUrl })
  try {
    const { rows: outcomes } = await sql<{ status: string; reason: string; n: number }>`
      select status, coalesce(failure_reason, '') as reason, count(*)::int as n from orders
      where id = any(${ids}::bigint[]) group by 1, 2 order by 1, 3 desc`.execute(db)
    out('\n== Orders')
    for (const o of outcomes) out(`${o.status.padEnd(10)} ${o.reason.padEnd(20)} ${String(o.n).padStart(6)}`)
    const { rows: restores } = await sql<{ kind: string; outcome: string; n: number }>`
      select kind, outcome, count(*)::int as n from applied_restores where order_id = any(${ids}::bigint[])
      group by 1, 2 order by 1, 2`.execute(db)
    out('\n== Compensations applied by their owners (restore events, once per eventId)')
    if (restores.length === 0) out('none')
    for (const r of restores) out(`${r.kind.padEnd(8)} ${r.outcome.padEnd(20)} ${String(r.n).padStart(6)}`)
    const { rows: times } = await sql<{ ms: number }>`
      select extract(epoch from coalesce(completed_at, failed_at) - created_at) * 1000 as ms
      from orders where id = any(${ids}::bigint[]) and status <> 'PENDING' order by 1`.execute(db)
    const ms = times.map((t) => Number(t.ms))
    out(
      `\ntime from order to final status: p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms (${ms.length} orders)`,
    )
    out('\n== Conservation (CONTRACT.md 2.8)')
    // Quiescence: a failed order's restore events may still be on their way to their owners.
    let invariants = await checkConservation(db)
    for (const deadline = Date.now() + 30_000; !invariants.every((i) => i.holds) && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 250))
      invariants = await checkConservation(db)
    }
    for (const i of invariants) {
      out(`${i.holds ? 'HOLDS ' : 'BROKEN'} ${i.name} (${i.checked} checked)`)
      for (const v of i.violations) out(`         ${v}`)
    }
    const ranking = await rankingMatches(db, config)
    out(
      `${ranking.holds ? 'HOLDS ' : 'BROKEN'} ranking: Redis equals the quantities of COMPLETED orders, per day (${ranking.checked} checked)`,
    )
    for (const v of ranking.violations) out(`         ${v}`)
    return invariants.every((i) => i.holds) && ranking.holds
  } finally {
    await db.destroy()
  }
}

/**
 * The Redis ranking against PostgreSQL: per (day, product), the score equals the quantity sold. The
 * projector trails the status events a little, so it is given until `waitMs` to catch up.
 */
async function rankingMatches(db: ReturnType<typeof createDb>, config: Config, waitMs = 30_000) {
  const redis = createClient({ url: config.redisUrl })
  redis.on('error', () => {})
  await redis.connect()
  const keys = rankingKeys(config.topicPrefix)
  const deadline = Date.now() + waitMs
  try {
    for (;;) {
      const expected = await soldByDay(db)
      const violations: string[] = []
      for (const { day, productId, quantity } of expected) {
        const score = (await redis.zScore(keys.sales(day), String(productId))) ?? 0
        if (score !== quantity)
          violations.push(`day ${day} product ${productId}: Redis ${score}, sold ${quantity}`)
      }
      if (violations.length === 0 || Date.now() > deadline)
        return {
          holds: violations.length === 0,
          checked: expected.length,
          violations: violations.slice(0, 5),
        }
      await new Promise((r) => setTimeout(r, 500))
    }
  } finally {
    await redis.close()
  }
}
