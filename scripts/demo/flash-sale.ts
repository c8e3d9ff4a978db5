/**
 * The flash sale: users and coupons through the admin API, then tens of thousands of concurrent
 * issue requests through the shop API with a live progress line, then a report from the database.
 */
import pg from 'pg'
import { type Api, forEachConcurrently, percentile } from './http.ts'

export interface SaleOptions {
  users: number
  coupons: number
  unitsPerCoupon: number
  requests: number
  concurrency: number
}

const line = (text: string) => process.stdout.write(`\r\x1b[2K${text}`)

export async function runFlashSale(api: Api, databaseUrl: string, o: SaleOptions): Promise<boolean> {
  process.stdout.write(
    `\n== Setting up: ${o.users} users, ${o.coupons} coupons of ${o.unitsPerCoupon} units\n`,
  )
  const userIds: number[] = []
  await forEachConcurrently(Array.from({ length: o.users }), 64, async (_, i) => {
    const { status, body } = await api.call<{ userId: number }>(
      'POST',
      '/admin/users',
      { name: `user-${i}`, points: 100_000 },
      true,
    )
    if (status !== 201) throw new Error(`POST /admin/users answered ${status}: ${JSON.stringify(body)}`)
    userIds.push(body.userId)
  })
  const couponIds: number[] = []
  for (let c = 0; c < o.coupons; c++) {
    const { status, body } = await api.call<{ couponId: number }>(
      'POST',
      '/admin/coupons',
      { name: `flash-${c}`, discountType: 'RATE', discountValue: 10 + c, totalQuantity: o.unitsPerCoupon },
      true,
    )
    if (status !== 201) throw new Error(`POST /admin/coupons answered ${status}: ${JSON.stringify(body)}`)
    couponIds.push(body.couponId)
  }

  process.stdout.write(`\n== The sale: ${o.requests} issue requests, ${o.concurrency} at a time\n`)
  // Random users and coupons, duplicates included: a user may ask for the same coupon twice.
  const picks = Array.from({ length: o.requests }, (_, i) => ({
    userId: userIds[(i * 7919 + Math.floor(Math.random() * userIds.length)) % userIds.length]!,
    couponId: couponIds[Math.floor(Math.random() * couponIds.length)]!,
  }))
  const statuses = new Map<number, number>()
  const started = performance.now()
  let done = 0
  const progress = setInterval(() => {
    const seconds = (performance.now() - started) / 1000
    const by = [...statuses].map(([s, n]) => `${s}:${n}`).join(' ')
    line(`sent ${done}/${o.requests}  ${(done / seconds).toFixed(0)} req/s  [${by}]`)
  }, 250)
  await forEachConcurrently(picks, o.concurrency, async ({ userId, couponId }) => {
    const { status } = await api.call('POST', `/coupons/${couponId}/issue`, { userId })
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    done++
  })
  clearInterval(progress)
  const seconds = (performance.now() - started) / 1000
  const accepted = statuses.get(202) ?? 0
  line(
    `sent ${done}/${o.requests} in ${seconds.toFixed(1)}s: ${accepted} accepted (202), ${statuses.get(409) ?? 0} already holding (409)\n`,
  )

  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    process.stdout.write('\n== Waiting for the coupon processor\n')
    const waitStarted = performance.now()
    for (;;) {
      const { rows } = await db.query(
        `select count(*) filter (where status = 'PENDING')::int as pending, count(*)::int as total
         from coupon_issue_requests where coupon_id = any($1::bigint[])`,
        [couponIds],
      )
      line(`decided ${rows[0].total - rows[0].pending}/${rows[0].total}`)
      if (rows[0].pending === 0) break
      if (performance.now() - waitStarted > 120_000)
        throw new Error(`${rows[0].pending} requests still pending after 120 s`)
      await new Promise((r) => setTimeout(r, 250))
    }
    process.stdout.write('\n')
    return await report(db, couponIds, accepted / seconds)
  } finally {
    await db.end()
  }
}

async function report(db: pg.Client, couponIds: number[], acceptedPerSecond: number): Promise<boolean> {
  const { rows: perCoupon } = await db.query(
    `select c.id, c.total_quantity, c.issued_quantity,
       (select count(*) from user_coupons u where u.coupon_id = c.id)::int as holders,
       (select count(distinct r.user_id) from coupon_issue_requests r where r.coupon_id = c.id)::int as requesters
     from coupons c where c.id = any($1::bigint[]) order by c.id`,
    [couponIds],
  )
  const { rows: dup } = await db.query(
    `select count(*)::int as n from (select user_id, coupon_id from user_coupons where coupon_id = any($1::bigint[])
     group by user_id, coupon_id having count(*) > 1) d`,
    [couponIds],
  )
  const { rows: latency } = await db.query(
    `select extract(epoch from decided_at - requested_at) * 1000 as ms from coupon_issue_requests
     where coupon_id = any($1::bigint[]) and decided_at is not null order by 1`,
    [couponIds],
  )
  const ms = latency.map((r) => Number(r.ms))
  process.stdout.write('\n== Report\n')
  process.stdout.write('coupon   supply  issued  holders  distinct requesters  expected\n')
  let ok = dup[0].n === 0
  for (const c of perCoupon) {
    const expected = Math.min(c.total_quantity, c.requesters)
    ok &&= c.issued_quantity === expected && c.holders === expected
    process.stdout.write(
      `${String(c.id).padEnd(8)} ${String(c.total_quantity).padStart(6)}  ${String(c.issued_quantity).padStart(6)}  ${String(c.holders).padStart(7)}  ${String(c.requesters).padStart(19)}  ${String(expected).padStart(8)}\n`,
    )
  }
  process.stdout.write(`duplicates found (a user holding a coupon twice): ${dup[0].n}\n`)
  process.stdout.write(`requests accepted per second (HTTP 202): ${acceptedPerSecond.toFixed(0)}\n`)
  process.stdout.write(
    `time from request to outcome: p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms (${ms.length} requests)\n`,
  )
  process.stdout.write(
    `${ok ? 'OK' : 'MISMATCH'}: every coupon issued min(supply, distinct requesters) units, each user at most once\n`,
  )
  return ok
}
