import { describe, expect, it } from 'vitest'
import type { CouponInfo, CouponIssueResult } from '../../processors/coupon-issuer.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { Topics } from '../../processors/topics.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { partitionForKey } from '../../topology/partitioner.ts'

const COUPON = 7
const NOW = Date.parse('2026-11-24T10:00:00Z')

function driver(coupon: Partial<CouponInfo> = {}, users = 200, options: { batchSize?: number } = {}) {
  const d = new TopologyTestDriver(shopTopology('shop'), { partitions: 3, startTime: NOW, ...options })
  d.setLookup('coupons', String(COUPON), { totalQuantity: 3, issuedQuantity: 0, expiresAt: null, ...coupon })
  for (let u = 1; u <= users; u++) d.setLookup('users', String(u), true)
  return d
}

const request = (
  d: TopologyTestDriver,
  userId: number,
  extra: Record<string, unknown> = {},
  couponId = COUPON,
) =>
  d.pipe(Topics.COUPON_ISSUE, String(couponId), {
    requestId: `r-${userId}-${Object.keys(extra).length}`,
    userId,
    couponId,
    ...extra,
  })

const results = (d: TopologyTestDriver) =>
  d.output<CouponIssueResult>(Topics.COUPON_ISSUE_RESULT).map((r) => r.value)
const summary = (rs: CouponIssueResult[]) =>
  rs.map((r) => `${r.userId}:${r.status === 'ISSUED' ? r.userCouponId : r.reason}`)

describe('CouponIssuer', () => {
  it('should issue to the first eligible distinct users while the coupon lasts, then reject as sold out', async () => {
    const d = driver()
    for (const user of [1, 2, 3, 4, 5]) request(d, user)
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000001', '2:7000002', '3:7000003', '4:SOLD_OUT', '5:SOLD_OUT'])
    expect(d.table('user-coupons').map((r) => [r.id, r.userId])).toEqual([
      [7000001, 1],
      [7000002, 2],
      [7000003, 3],
    ])
    expect(d.table('coupon-quantities').at(-1)).toEqual({ couponId: COUPON, issuedQuantity: 3 })
  })

  it("should let exactly one of many racing users win a coupon's last unit: the first in partition order", async () => {
    const d = driver({ totalQuantity: 10, issuedQuantity: 9 })
    const racers = Array.from({ length: 150 }, (_, i) => 150 - i) // arrival order 150, 149, ..., 1
    for (const user of racers) request(d, user)
    await d.process()
    const rs = results(d)
    expect(rs).toHaveLength(150)
    const winners = rs.filter((r) => r.status === 'ISSUED')
    expect(winners).toEqual([
      { requestId: 'r-150-0', userId: 150, couponId: COUPON, status: 'ISSUED', userCouponId: 7000010 },
    ])
    expect(
      new Set(rs.filter((r) => r.status === 'REJECTED').map((r) => r.status === 'REJECTED' && r.reason)),
    ).toEqual(new Set(['SOLD_OUT']))
  })

  it("should reject a user's second request in the same batch as already issued, without using a unit", async () => {
    const d = driver()
    request(d, 1)
    request(d, 1, { again: true })
    request(d, 2)
    const { batches } = await d.process()
    expect(batches).toBe(1)
    expect(summary(results(d))).toEqual(['1:7000001', '1:ALREADY_ISSUED', '2:7000002'])
  })

  it("should reject a winner's request in a later batch, also after a restart", async () => {
    const d = driver()
    request(d, 1)
    await d.process()
    d.restart()
    request(d, 1, { later: true })
    request(d, 2)
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000001', '1:ALREADY_ISSUED', '2:7000002'])
  })

  it('should answer a request delivered twice (at-least-once publication) with the same result, changing nothing', async () => {
    const d = driver({ totalQuantity: 1 })
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { requestId: 'same', userId: 1, couponId: COUPON })
    await d.process()
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { requestId: 'same', userId: 1, couponId: COUPON })
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { requestId: 'same', userId: 1, couponId: COUPON })
    request(d, 2)
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000001', '1:7000001', '1:7000001', '2:SOLD_OUT'])
    // Regression: each copy's result had an id made of its own log position, so a consumer that
    // de-duplicates by id saw three results for one request.
    const ids = d.allOutputs(Topics.COUPON_ISSUE_RESULT).map((r) => r.headers['commerce.output-id'])
    expect(new Set(ids.slice(0, 3))).toEqual(new Set(['shop/coupon-issue-result-topic/same']))
    expect(ids[3]).not.toBe(ids[0])
    expect(d.table('user-coupons')).toHaveLength(1)
    expect(d.table('coupon-quantities').map((r) => r.issuedQuantity)).toEqual([1])
  })

  it('should reject requests made at or after the expiry, judged by the record timestamp', async () => {
    const d = driver({ expiresAt: NOW + 1_000 })
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { userId: 1, couponId: COUPON }, { timestamp: NOW + 999 })
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { userId: 2, couponId: COUPON }, { timestamp: NOW + 1_000 })
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000001', '2:COUPON_EXPIRED'])
  })

  it('should judge a request our API accepted at its acceptance time, not when the relay published it', async () => {
    const d = driver({ expiresAt: NOW + 1_000 })
    const api = { 'commerce.accepted-by': 'api' }
    const acceptedAt = new Date(NOW + 999).toISOString()
    const late = { timestamp: NOW + 5_000 } // published 4 s after the expiry (a slow relay)
    d.pipe(
      Topics.COUPON_ISSUE,
      String(COUPON),
      { userId: 1, couponId: COUPON, requestedAt: acceptedAt },
      {
        ...late,
        headers: api,
      },
    )
    // Another producer's requestedAt is its own claim: its record is judged by the record timestamp.
    d.pipe(
      Topics.COUPON_ISSUE,
      String(COUPON),
      { userId: 2, couponId: COUPON, requestedAt: acceptedAt },
      late,
    )
    d.pipe(
      Topics.COUPON_ISSUE,
      String(COUPON),
      { userId: 3, couponId: COUPON, requestedAt: acceptedAt },
      {
        timestamp: NOW + 500,
      },
    )
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000001', '2:COUPON_EXPIRED', '3:7000002'])
  })

  it('should send a requestedAt that is not a real ISO-8601 instant to the DLQ, as PostgreSQL would refuse it', async () => {
    const d = driver()
    for (const requestedAt of [
      '1',
      '2026-02-30T00:00:00Z',
      '2026-00-10T00:00:00Z',
      'Sat, 01 Jan 2000 00:00:00 GMT',
    ])
      d.pipe(Topics.COUPON_ISSUE, String(COUPON), { userId: 1, couponId: COUPON, requestedAt })
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), {
      userId: 1,
      couponId: COUPON,
      requestedAt: '2026-11-24T19:00:00+09:00',
    })
    await d.process()
    expect(d.dlq(Topics.COUPON_ISSUE).map((r) => r.headers['error.code'])).toEqual(
      Array(4).fill('VALIDATION_FAILED'),
    )
    expect(d.table('coupon-requests').map((r) => r.requestedAt)).toEqual(['2026-11-24T10:00:00.000Z'])
  })

  it('should reject unknown coupons and users without using a unit', async () => {
    const d = driver({ totalQuantity: 1 }, 5)
    request(d, 999) // no such user
    request(d, 1, {}, 8) // no such coupon (keyed by its own id)
    request(d, 2)
    await d.process()
    const rs = results(d)
    expect(rs.map((r) => (r.status === 'REJECTED' ? r.reason : r.status)).sort()).toEqual(
      ['COUPON_NOT_FOUND', 'ISSUED', 'USER_NOT_FOUND'].sort(),
    )
    expect(rs.find((r) => r.status === 'ISSUED')?.userId).toBe(2)
  })

  it('should derive a stable request id from the log position for requests produced without one', async () => {
    const d = driver()
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { userId: 1, couponId: COUPON })
    await d.process()
    const [result] = results(d)
    expect(result?.requestId).toMatch(/^coupon-issue-topic-[0-2]-0$/)
    expect(d.table<{ requestId: string; status: string }>('coupon-requests')[0]).toMatchObject({
      requestId: result?.requestId,
      status: 'ISSUED',
    })
  })

  it('should continue from the issued quantity the coupon already has', async () => {
    const d = driver({ totalQuantity: 5, issuedQuantity: 4 })
    request(d, 1)
    request(d, 2)
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000005', '2:SOLD_OUT'])
  })

  it('should publish each result keyed by coupon, on the partition that owns the coupon', async () => {
    const d = driver()
    request(d, 1)
    await d.process()
    const [out] = d.output(Topics.COUPON_ISSUE_RESULT)
    expect(out?.key).toBe(String(COUPON))
    expect(d.store<number>('coupon-issued', out!.partition).get(String(COUPON))).toBe(1)
  })

  it('should not let a partition that does not own a coupon issue it: a request put elsewhere goes to the DLQ', async () => {
    // A producer with another partitioner (librdkafka's default is CRC32) puts coupon 7's requests on
    // another partition: its counters there would sell the coupon's 3 units a second time.
    const d = driver()
    const owner = partitionForKey(String(COUPON), 3)
    const elsewhere = (owner + 1) % 3
    for (const user of [1, 2, 3]) request(d, user)
    for (const user of [4, 5, 6])
      d.pipe(
        Topics.COUPON_ISSUE,
        String(COUPON),
        { requestId: `x-${user}`, userId: user, couponId: COUPON },
        {
          partition: elsewhere,
        },
      )
    await d.process()
    expect(summary(results(d))).toEqual(['1:7000001', '2:7000002', '3:7000003'])
    expect(
      d.dlq(Topics.COUPON_ISSUE).map((r) => [r.headers['error.code'], r.headers['error.message']]),
    ).toEqual(
      [4, 5, 6].map(() => [
        'WRONG_PARTITION',
        `key "7" belongs to partition ${owner} of 3, not ${elsewhere} (the Java client's murmur2 partitioner)`,
      ]),
    )
  })

  it('should send mis-keyed and invalid requests to the DLQ with the cause, and carry on', async () => {
    const d = driver()
    d.pipe(Topics.COUPON_ISSUE, '8', { userId: 1, couponId: COUPON }, { partition: 0 })
    d.pipe(Topics.COUPON_ISSUE, String(COUPON), { userId: -1, couponId: COUPON })
    d.pipeRaw(Topics.COUPON_ISSUE, String(COUPON), Buffer.from('{"userId":'))
    request(d, 2)
    await d.process()
    const dead = d.dlq(Topics.COUPON_ISSUE).map((r) => [r.headers['error.code'], r.headers['error.message']])
    expect(dead).toEqual(
      expect.arrayContaining([
        ['KEY_MISMATCH', 'key: "8" must be the couponId "7"'],
        // The reason is the schema's (processors/coupon-request.ts); the field is named first.
        ['VALIDATION_FAILED', 'userId: must be >= 1'],
        ['DESERIALIZATION_FAILED', expect.any(String)],
      ]),
    )
    expect(summary(results(d))).toEqual(['2:7000001'])
  })
})
