/**
 * Strings PostgreSQL cannot store faithfully never get past the HTTP edge: `text` refuses NUL (the
 * statement failed, a 500 INTERNAL) and a lone surrogate was stored as U+FFFD. Both, and bodies that
 * are not UTF-8 at all, are 400 VALIDATION_FAILED naming the field, and nothing is written.
 */
import type { InjectOptions } from 'fastify'
import { beforeAll, describe, expect, it } from 'vitest'
import { useApiFixture } from '../support/api-fixture.ts'

const { api, TOKEN, newCoupon } = useApiFixture()
const auth = { authorization: `Bearer ${TOKEN}` }
let couponId: number

beforeAll(async () => {
  couponId = await newCoupon({ name: 'c', totalQuantity: 5 })
})

/** Everything a request could have written. */
async function rowCounts() {
  const count = async (table: 'users' | 'coupons' | 'coupon_issue_requests' | 'outbox' | 'products') =>
    Number((await api.db.selectFrom(table).select(api.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return {
    users: await count('users'),
    coupons: await count('coupons'),
    requests: await count('coupon_issue_requests'),
    outbox: await count('outbox'),
    products: await count('products'),
  }
}

/** A JSON body as the client's bytes: `\\u0000` and `\\ud800` stay JSON escapes, valid UTF-8 on the wire. */
const json = (text: string) => ({ 'content-type': 'application/json', ...auth, payload: text })

// The hostile value, as a JSON string escape and as a percent-encoded path or query component.
const hostile = [
  { what: 'a NUL', escape: '\\u0000', percent: '%00' },
  { what: 'a lone surrogate', escape: '\\ud800', percent: '%ED%A0%80' },
] as const

type Case = { route: string; field: string; request: (h: (typeof hostile)[number]) => InjectOptions }

const cases: Case[] = [
  {
    route: 'POST /admin/users',
    field: 'body.name',
    request: (h) => {
      const { payload, ...headers } = json(`{"name":"Eve${h.escape}","points":1}`)
      return { method: 'POST', url: '/admin/users', headers, payload }
    },
  },
  {
    route: 'POST /admin/coupons',
    field: 'body.name',
    request: (h) => {
      const body = `{"name":"x${h.escape}","discountType":"RATE","discountValue":5,"totalQuantity":1}`
      const { payload, ...headers } = json(body)
      return { method: 'POST', url: '/admin/coupons', headers, payload }
    },
  },
  {
    route: 'POST /admin/products',
    field: 'body.description',
    request: (h) => {
      const { payload, ...headers } = json(
        `{"name":"Desk","description":"oak${h.escape}","price":1,"stock":1}`,
      )
      return { method: 'POST', url: '/admin/products', headers, payload }
    },
  },
  {
    // A field the route does not read yet: it is refused all the same, before any handler sees it.
    route: 'POST /coupons/:couponId/issue',
    field: 'body.note',
    request: (h) => {
      const { payload, ...headers } = json(`{"userId":1,"note":"${h.escape}"}`)
      return { method: 'POST', url: `/coupons/${couponId}/issue`, headers, payload }
    },
  },
  {
    route: 'GET /coupons/:couponId/requests/:requestId',
    field: 'params.requestId',
    request: (h) => ({ method: 'GET', url: `/coupons/${couponId}/requests/r${h.percent}` }),
  },
  {
    route: 'GET /users/:userId (query string)',
    field: 'querystring.q',
    request: (h) => ({ method: 'GET', url: `/users/1?q=a${h.percent}` }),
  },
]

describe('hostile strings at the HTTP edge', () => {
  for (const h of hostile) {
    it.each(cases)(`$route should answer 400 VALIDATION_FAILED naming $field for ${h.what}`, async (c) => {
      const before = await rowCounts()
      const reply = await api.app.inject(c.request(h))
      expect(reply.statusCode, reply.body).toBe(400)
      expect(reply.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(new RegExp(`^${c.field.replace('.', '\\.')}: `)),
      })
      expect(await rowCounts()).toEqual(before)
    })
  }

  it('should find a hostile string deep inside arrays and objects and name its path', async () => {
    const deep = `{"userId":1,"extra":{"list":[1,{"tag":"\\u0000"}]}}`
    const { payload, ...headers } = json(deep)
    const reply = await api.app.inject({
      method: 'POST',
      url: `/coupons/${couponId}/issue`,
      headers,
      payload,
    })
    expect(reply.statusCode).toBe(400)
    expect(reply.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: /^body\.extra\.list\.1\.tag: / })
  })

  it('should refuse a hostile property name, not only values', async () => {
    const { payload, ...headers } = json(`{"name":"ok","points":1,"a\\u0000b":1}`)
    const before = await rowCounts()
    const reply = await api.app.inject({ method: 'POST', url: '/admin/users', headers, payload })
    expect(reply.statusCode).toBe(400)
    expect(reply.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: /^body: / })
    expect(await rowCounts()).toEqual(before)
  })

  it('should answer 400, not a stack overflow, for a deeply nested body', async () => {
    const depth = 200_000
    const { payload, ...headers } = json(`{"userId":1,"x":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}`)
    const reply = await api.app.inject({
      method: 'POST',
      url: `/coupons/${couponId}/issue`,
      headers,
      payload,
    })
    expect(reply.statusCode).toBe(400)
    expect(reply.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: /^body\.x\.0\.0\.0/ })
  })

  it('should answer 400 VALIDATION_FAILED for a body that is not valid UTF-8, rather than storing U+FFFD', async () => {
    const before = await rowCounts()
    // A lone surrogate encoded as bytes (CESU-8), then a byte that never starts a UTF-8 sequence.
    for (const bad of [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xff])]) {
      const payload = Buffer.concat([Buffer.from('{"name":"Eve'), bad, Buffer.from('","points":1}')])
      const reply = await api.app.inject({
        method: 'POST',
        url: '/admin/users',
        headers: { 'content-type': 'application/json', ...auth },
        payload,
      })
      expect(reply.statusCode, reply.body).toBe(400)
      expect(reply.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: /^body: .*UTF-8/ })
    }
    expect(await rowCounts()).toEqual(before)
  })

  it('should still store every other character as sent, astral and combining ones included', async () => {
    const name = 'Zoë 🎟️ \u00a0ﬁ \uffff'
    const reply = await api.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: auth,
      payload: { name, points: 1 },
    })
    expect(reply.statusCode, reply.body).toBe(201)
    const stored = await api.db
      .selectFrom('users')
      .select('name')
      .where('id', '=', String(reply.json().userId))
    expect((await stored.executeTakeFirstOrThrow()).name).toBe(name)
  })
})

describe('long path parameters', () => {
  it('GET /coupons/:couponId/requests/:requestId should find a request whose id has 200 characters, the limit records may carry', async () => {
    const user = await api.app.inject({
      method: 'POST',
      url: '/admin/users',
      headers: auth,
      payload: { name: 'L', points: 0 },
    })
    const requestId = 'r'.repeat(200)
    await api.db
      .insertInto('coupon_issue_requests')
      .values({
        request_id: requestId,
        coupon_id: String(couponId),
        user_id: String(user.json().userId),
        status: 'PENDING',
        requested_at: new Date(),
      })
      .execute()
    const reply = await api.app.inject({ method: 'GET', url: `/coupons/${couponId}/requests/${requestId}` })
    expect(reply.statusCode, reply.body).toBe(200)
    expect(reply.json()).toMatchObject({ requestId, status: 'PENDING' })
    const tooLong = await api.app.inject({
      method: 'GET',
      url: `/coupons/${couponId}/requests/${requestId}r`,
    })
    expect(tooLong.statusCode).toBe(400)
    expect(tooLong.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: /^params\.requestId: / })
  })
})
