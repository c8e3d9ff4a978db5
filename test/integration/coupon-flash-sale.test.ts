/**
 * The flash sale on the real broker, PostgreSQL and the service processes: first come, first served
 * must hold exactly — the holders of each coupon are the first distinct users in its partition's
 * order — with requests through the API and straight to the topic, and with the processor killed.
 */
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { forEachConcurrently } from '../../scripts/demo/http.ts'
import { OUTBOX_BACKLOG_SQL } from '../../topology/postgres/outbox-relay.ts'
import { useInfra } from '../support/infra.ts'
import { headerValue, kcatConsume, kcatProduce } from '../support/kcat.ts'
import { waitUntil } from '../support/runtime-fixtures.ts'
import { type ServiceProcess, shopDeployment } from '../support/service-process.ts'

const infra = useInfra()
const services: ServiceProcess[] = []
afterAll(async () => {
  for (const s of services) await s.stop('SIGKILL')
})

const USERS = 10_000
const COUPONS = 10
const UNITS = 100
const REQUESTS = 20_000
const BY_KCAT = 2_000
const TOKEN = 'flash-sale-admin-token'

async function sale(options: { killProcessor: boolean }) {
  const appId = infra.name('sale')
  const deployment = shopDeployment(infra, { appId, adminToken: TOKEN, started: services })
  const { prefix } = deployment
  const start = (role: 'api' | 'processors') => deployment.start(role)
  const api = await start('api')
  let processor = await start('processors')
  const db = new pg.Client({ connectionString: infra.databaseUrl })
  await db.connect()
  try {
    // Both sales share the file's database: start from empty shop tables (each has its own group and topics).
    await db.query('truncate users, coupons, user_coupons, coupon_issue_requests restart identity cascade')
    // Users straight into the table (the sale is what is under test), coupons through the admin API.
    const { rows: userRows } = await db.query(
      `insert into users (name, points) select 'user-' || g, 0 from generate_series(1, $1) g returning id`,
      [USERS],
    )
    const users = userRows.map((r) => Number(r.id))
    const coupons: number[] = []
    for (let c = 0; c < COUPONS; c++) {
      const response = await fetch(`${api.url}/admin/coupons`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          name: `c${c}`,
          discountType: 'AMOUNT',
          discountValue: 1000,
          totalQuantity: UNITS,
        }),
      })
      expect(response.status).toBe(201)
      coupons.push(((await response.json()) as { couponId: number }).couponId)
    }

    // 20k requests from 10k users, duplicates included; some produced straight to the topic by kcat.
    const picks = Array.from({ length: REQUESTS }, (_, i) => ({
      userId: users[(i * 7_919) % USERS]!,
      couponId: coupons[(i * 31 + Math.floor(i / 977)) % COUPONS]!,
    }))
    const viaKcat = picks.slice(0, BY_KCAT)
    const viaApi = picks.slice(BY_KCAT)
    const topic = `${prefix}coupon-issue-topic`
    let sent = 0
    const kills: number[] = []
    const sending = forEachConcurrently(viaApi, 100, async ({ userId, couponId }) => {
      const response = await fetch(`${api.url}/coupons/${couponId}/issue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId }),
      })
      expect([202, 409]).toContain(response.status)
      await response.arrayBuffer()
      sent++
    })
    await kcatProduce(
      infra.brokers,
      topic,
      viaKcat.map((p) => ({ key: String(p.couponId), value: JSON.stringify(p) })),
    )
    if (options.killProcessor) {
      for (const at of [0.3, 0.6]) {
        await waitUntil(`${at * 100}% sent`, async () => sent >= viaApi.length * at)
        processor.child.kill('SIGKILL')
        await processor.stop()
        kills.push(sent)
        processor = await start('processors')
      }
    }
    await sending

    // Quiescence: no accepted request pending, nothing left to publish, and every record on the topic
    // committed. The topic is read once the outbox is empty: until then a relay may still re-send a
    // request (at least once), and the topic would grow after it was read.
    let records: Awaited<ReturnType<typeof kcatConsume>> = []
    await waitUntil(
      'every request decided and its result published',
      async () => {
        const { rows } = await db.query(
          `select (select coalesce(sum(next_offset), 0) from stream_offsets where topic = $1)::int as committed,
                  (select count(*) from coupon_issue_requests where status = 'PENDING')::int as pending,
                  ${OUTBOX_BACKLOG_SQL}::int as unpublished`,
          [topic],
        )
        if (rows[0].pending !== 0 || rows[0].unpublished !== 0) return false
        records = await kcatConsume(infra.brokers, topic)
        return rows[0].committed === records.length
      },
      120_000,
    )

    // The expected winners: per coupon, the first distinct users in the order of its partition.
    const expected = new Map<number, number[]>()
    const ordered = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    for (const r of ordered) {
      const { userId, couponId } = JSON.parse(r.value) as { userId: number; couponId: number }
      const winners = expected.get(couponId) ?? []
      if (winners.length < UNITS && !winners.includes(userId)) winners.push(userId)
      expected.set(couponId, winners)
    }
    const { rows: holders } = await db.query(
      'select coupon_id::int as coupon, user_id::int as user, id from user_coupons order by id',
    )
    for (const couponId of coupons) {
      const distinct = new Set(
        records
          .map((r) => JSON.parse(r.value))
          .filter((v) => v.couponId === couponId)
          .map((v) => v.userId),
      )
      const held = holders.filter((h) => h.coupon === couponId).map((h) => h.user)
      expect(held.length, `coupon ${couponId}: issued = min(supply, distinct requesters)`).toBe(
        Math.min(UNITS, distinct.size),
      )
      // In ordinal order (the id is couponId * 1e6 + ordinal): the same users, in the same order.
      expect(held, `coupon ${couponId}: the first distinct users in partition order`).toEqual(
        expected.get(couponId),
      )
    }
    const { rows: twice } = await db.query(
      'select count(*)::int as n from (select 1 from user_coupons group by user_id, coupon_id having count(*) > 1) d',
    )
    expect(twice[0].n).toBe(0)
    const { rows: issuedColumn } = await db.query('select id::int, issued_quantity from coupons order by id')
    for (const c of issuedColumn)
      expect(c.issued_quantity).toBe(holders.filter((h) => h.coupon === c.id).length)

    // Exactly one result per request after de-duplication by request id, and it matches the outcome row.
    const results = await kcatConsume(infra.brokers, `${prefix}coupon-issue-result-topic`)
    const byRequest = new Map<string, { status: string; userCouponId?: number }>()
    for (const r of results) {
      expect(headerValue(r.headers, 'commerce.output-id')).toBeTruthy()
      const value = JSON.parse(r.value) as { requestId: string; status: string; userCouponId?: number }
      const seen = byRequest.get(value.requestId)
      if (seen) expect(value, 'a re-published result is identical').toMatchObject(seen)
      byRequest.set(value.requestId, value)
    }
    // A request can be on the topic twice (the outbox publishes at least once, and this test kills
    // processes that relay): it is still one request, with one outcome and one (possibly repeated) result.
    const requestIds = new Set(
      records.map(
        (r) =>
          (JSON.parse(r.value) as { requestId?: string }).requestId ?? `${topic}-${r.partition}-${r.offset}`,
      ),
    )
    if (records.length > requestIds.size)
      console.info(`${records.length - requestIds.size} requests were on the topic twice`)
    expect(byRequest.size).toBe(requestIds.size)
    for (const id of requestIds) expect(byRequest.has(id), id).toBe(true)
    const { rows: outcomes } = await db.query(
      `select request_id, status, user_coupon_id::int as ucid from coupon_issue_requests`,
    )
    expect(outcomes).toHaveLength(requestIds.size)
    for (const o of outcomes) {
      expect(byRequest.get(o.request_id)).toMatchObject({
        status: o.status,
        ...(o.ucid ? { userCouponId: o.ucid } : {}),
      })
    }
    // With the real processor, `?waitMs` answers the decision in the same round trip.
    const quick = await fetch(`${api.url}/admin/coupons`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: 'quick', discountType: 'AMOUNT', discountValue: 100, totalQuantity: 1 }),
    })
    const { couponId: quickCoupon } = (await quick.json()) as { couponId: number }
    const waited = await fetch(`${api.url}/coupons/${quickCoupon}/issue?waitMs=5000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: users[0] }),
    })
    expect(waited.status).toBe(200)
    expect(await waited.json()).toMatchObject({ couponId: quickCoupon, userId: users[0], status: 'ISSUED' })
    return { kills, records: records.length, results: results.length }
  } finally {
    await db.end()
    for (const s of services.splice(0)) await s.stop('SIGTERM')
  }
}

describe('coupon flash sale on the real broker', () => {
  it('should issue each coupon to exactly the first distinct users in partition order, via the API and kcat', async () => {
    const { records, results } = await sale({ killProcessor: false })
    expect(records).toBeGreaterThan(BY_KCAT)
    expect(results).toBeGreaterThanOrEqual(records)
  }, 300_000)

  it('should give the same holders with the processor killed (kill -9) and restarted twice mid-way', async () => {
    const { kills } = await sale({ killProcessor: true })
    console.info(`processor killed after ${kills.join(' and ')} API requests`)
    expect(kills).toHaveLength(2)
  }, 300_000)
})
