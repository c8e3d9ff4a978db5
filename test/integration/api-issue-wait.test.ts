/**
 * `POST /coupons/:couponId/issue?waitMs=N`: the decision in the same round trip when it comes within N
 * ms, else 202 PENDING as without it. Here the decision is committed to the request's row by the test,
 * as the coupon processor commits it (the end-to-end case with the real processor is in service.test.ts).
 */
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useApiFixture } from '../support/api-fixture.ts'

const { newUser, newCoupon, api } = useApiFixture()

const issueWaiting = (couponId: number, userId: number, waitMs: number | string) =>
  api.app.inject({ method: 'POST', url: `/coupons/${couponId}/issue?waitMs=${waitMs}`, payload: { userId } })

/** Decides the coupon's pending requests after `ms`, the way the processor's commit does. */
async function decideAfter(ms: number, couponId: number, decision: 'ISSUED' | 'REJECTED') {
  await new Promise((r) => setTimeout(r, ms))
  await sql`
    update coupon_issue_requests
    set status = ${decision}, reason = ${decision === 'REJECTED' ? 'SOLD_OUT' : null},
      user_coupon_id = ${decision === 'ISSUED' ? couponId * 1_000_000 + 1 : null}, decided_at = now()
    where coupon_id = ${couponId} and status = 'PENDING'`.execute(api.db)
}

describe('POST /coupons/:couponId/issue?waitMs', () => {
  it('should answer 200 with the decision when it is taken within waitMs', async () => {
    const [user, coupon] = [await newUser(), await newCoupon()]
    const started = performance.now()
    const [res] = await Promise.all([issueWaiting(coupon, user, 3_000), decideAfter(200, coupon, 'ISSUED')])
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({
      couponId: coupon,
      userId: user,
      status: 'ISSUED',
      userCouponId: coupon * 1_000_000 + 1,
    })
    expect(res.json().requestId).toEqual(expect.any(String))
    // Answered when the decision came, not at the end of the wait.
    expect(performance.now() - started).toBeLessThan(2_500)
  })

  it('should answer 200 REJECTED with the reason, and answer every concurrent waiter its own request', async () => {
    const coupon = await newCoupon()
    const users = await Promise.all(Array.from({ length: 20 }, () => newUser()))
    const [responses] = await Promise.all([
      Promise.all(users.map((u) => issueWaiting(coupon, u, 3_000))),
      decideAfter(300, coupon, 'REJECTED'),
    ])
    const ids = new Set<string>()
    for (const [i, res] of responses.entries()) {
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ userId: users[i], status: 'REJECTED', reason: 'SOLD_OUT' })
      ids.add(res.json().requestId)
    }
    expect(ids.size).toBe(users.length)
  })

  it('should answer 202 PENDING once waitMs passes without a decision, and at once without waitMs', async () => {
    const [user, coupon] = [await newUser(), await newCoupon()]
    const started = performance.now()
    const res = await issueWaiting(coupon, user, 300)
    expect(res.statusCode).toBe(202)
    expect(res.json()).toMatchObject({ status: 'PENDING' })
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    const other = await newUser()
    const plain = await api.app.inject({
      method: 'POST',
      url: `/coupons/${coupon}/issue`,
      payload: { userId: other },
    })
    expect(plain.statusCode).toBe(202)
  })

  it('should refuse a waitMs outside 0..5000, naming it', async () => {
    const [user, coupon] = [await newUser(), await newCoupon()]
    for (const bad of [5001, -1, 'soon']) {
      const res = await issueWaiting(coupon, user, bad)
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
      expect(res.json().message).toContain('waitMs')
    }
  })
})
