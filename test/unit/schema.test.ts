import { type Static, type StaticDecode, Type } from 'typebox'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { CouponIssueResult, type RejectReason, type RejectReasons } from '../../processors/coupon-issuer.ts'
import {
  type CouponIssueRecord,
  type CouponIssueRequest,
  parseCouponIssueRequest,
} from '../../processors/coupon-request.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { RecordError } from '../../topology/errors.ts'
import { jsonSchemaValue } from '../../topology/schema.ts'

/** The error's code and message, as the DLQ headers carry them. */
const failureOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (error) {
    return error instanceof RecordError ? `${error.code} ${error.message}` : `not a RecordError: ${error}`
  }
  return 'no error'
}
const json = (value: unknown) => Buffer.from(JSON.stringify(value))

const Order = Type.Object({
  orderId: Type.String({ minLength: 1 }),
  items: Type.Array(Type.Object({ sku: Type.String(), qty: Type.Integer({ minimum: 1 }) })),
  note: Type.Optional(Type.String()),
})

describe('jsonSchemaValue', () => {
  const parse = jsonSchemaValue(Order)

  it('should return a valid value, typed from the schema', () => {
    const order = parse(json({ orderId: 'o-1', items: [{ sku: 'a', qty: 2 }] }), 'o-1')
    expect(order).toEqual({ orderId: 'o-1', items: [{ sku: 'a', qty: 2 }] })
    expectTypeOf(order).toEqualTypeOf<{
      orderId: string
      items: { sku: string; qty: number }[]
      note?: string
    }>()
  })

  it('should be VALIDATION_FAILED naming the first failing field, array indexes included', () => {
    expect(
      failureOf(() =>
        parse(
          json({
            orderId: 'o',
            items: [
              { sku: 'a', qty: 1 },
              { sku: 'b', qty: 0 },
            ],
          }),
          null,
        ),
      ),
    ).toBe('VALIDATION_FAILED items[1].qty: must be >= 1')
    expect(failureOf(() => parse(json({ orderId: 7, items: [] }), null))).toBe(
      'VALIDATION_FAILED orderId: must be string',
    )
    expect(failureOf(() => parse(json({ orderId: 'o', items: [{ qty: 1 }] }), null))).toBe(
      'VALIDATION_FAILED items[0].sku: is required',
    )
    expect(failureOf(() => parse(json([1]), null))).toBe('VALIDATION_FAILED value: must be object')
  })

  it('should name a property whose name looks like an index or holds a slash as it is', () => {
    const parseMap = jsonSchemaValue(Type.Object({ '0': Type.Object({ 'a/b': Type.Integer() }) }))
    expect(failureOf(() => parseMap(json({ '0': { 'a/b': 'x' } }), null))).toBe(
      'VALIDATION_FAILED 0.a/b: must be integer',
    )
  })

  it('should not coerce: a number in a string is not a number', () => {
    expect(failureOf(() => parse(json({ orderId: 'o', items: [{ sku: 'a', qty: '2' }] }), null))).toBe(
      'VALIDATION_FAILED items[0].qty: must be integer',
    )
  })

  it('should drop unknown fields, so what they hold is not checked for storage', () => {
    const value = parse(json({ orderId: 'o', items: [{ sku: 'a', qty: 1, x: 1 }], extra: 'a\u0000b' }), null)
    expect(value).toEqual({ orderId: 'o', items: [{ sku: 'a', qty: 1 }] })
  })

  it('should keep refusing what PostgreSQL cannot store in a declared field', () => {
    expect(failureOf(() => parse(json({ orderId: 'o\u0000', items: [] }), null))).toBe(
      'VALIDATION_FAILED orderId: contains a NUL character (\\u0000)',
    )
    expect(failureOf(() => parse(Buffer.from('{"orderId":"\\ud800","items":[]}'), null))).toBe(
      'VALIDATION_FAILED orderId: contains a lone UTF-16 surrogate',
    )
  })

  it('should keep bad bytes and a missing value DESERIALIZATION_FAILED', () => {
    expect(failureOf(() => parse(Buffer.from('{"orderId":'), null))).toMatch(/^DESERIALIZATION_FAILED /)
    expect(failureOf(() => parse(null, null))).toMatch(/^DESERIALIZATION_FAILED /)
  })

  it("should apply the schema's decoders to a valid value", () => {
    const Stamped = Type.Object({ at: Type.Decode(Type.String(), (s) => s.toUpperCase()) })
    const value = jsonSchemaValue(Stamped)(json({ at: 'abc' }), null)
    expect(value).toEqual({ at: 'ABC' })
    expectTypeOf(value).toEqualTypeOf<StaticDecode<typeof Stamped>>()
  })
})

describe('the coupon-issue-topic record', () => {
  const parse = (value: unknown) => parseCouponIssueRequest(json(value), '7')

  it('should give the processor, the API and its parser one type', () => {
    expectTypeOf<CouponIssueRequest>().toEqualTypeOf<{
      requestId?: string
      userId: number
      couponId: number
      requestedAt?: string
    }>()
    expectTypeOf<CouponIssueRecord>().toEqualTypeOf<Required<CouponIssueRequest>>()
    expectTypeOf(parseCouponIssueRequest).returns.toEqualTypeOf<CouponIssueRequest>()
    expectTypeOf<Static<typeof CouponIssueRequest>>().toEqualTypeOf<CouponIssueRequest>()
  })

  it('should accept what the API writes, and normalize requestedAt to UTC', () => {
    const record: CouponIssueRecord = {
      requestId: 'r-1',
      userId: 1,
      couponId: 7,
      requestedAt: '2026-11-24T19:00:00+09:00',
    }
    expect(parse(record)).toEqual({ ...record, requestedAt: '2026-11-24T10:00:00.000Z' })
  })

  it('should name each field it refuses', () => {
    const ok = { userId: 1, couponId: 7 }
    const cases: Array<[object, string]> = [
      [{ couponId: 7 }, 'userId: is required'],
      [{ ...ok, userId: 0 }, 'userId: must be >= 1'],
      [{ ...ok, userId: 1.5 }, 'userId: must be integer'],
      [{ ...ok, userId: 2 ** 53 }, 'userId: must be <= 9007199254740991'],
      [{ ...ok, couponId: '7' }, 'couponId: must be integer'],
      [{ ...ok, requestId: '' }, 'requestId: '],
      [{ ...ok, requestId: 'x'.repeat(201) }, 'requestId: '],
      [
        { ...ok, requestedAt: '2026-02-30T00:00:00Z' },
        'requestedAt: must be an ISO-8601 date-time naming a real instant',
      ],
      [
        { ...ok, requestedAt: '2026-00-10T00:00:00Z' },
        'requestedAt: must be an ISO-8601 date-time naming a real instant',
      ],
      [
        { ...ok, requestedAt: '0000-01-01T00:00:00Z' },
        'requestedAt: must be an ISO-8601 date-time naming a real instant',
      ],
      [{ ...ok, requestedAt: 'Sat, 01 Jan 2000 00:00:00 GMT' }, 'requestedAt: must match pattern'],
      [{ ...ok, requestedAt: '+275760-09-13T00:00:00.000Z' }, 'requestedAt: must match pattern'],
    ]
    for (const [value, message] of cases)
      expect(
        failureOf(() => parse(value)),
        JSON.stringify(value),
      ).toMatch(new RegExp(`^VALIDATION_FAILED ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  })

  it('should keep refusing a request keyed by anything but its coupon', () => {
    expect(failureOf(() => parseCouponIssueRequest(json({ userId: 1, couponId: 8 }), '7'))).toBe(
      'KEY_MISMATCH key: "7" must be the couponId "8"',
    )
  })
})

describe('the coupon-issue-result-topic record', () => {
  it('should type the result from its schema', () => {
    // The union the issuer used to declare by hand.
    expectTypeOf<CouponIssueResult>().toEqualTypeOf<
      | { requestId: string; userId: number; couponId: number; status: 'ISSUED'; userCouponId: number }
      | { requestId: string; userId: number; couponId: number; status: 'REJECTED'; reason: RejectReason }
    >()
    expectTypeOf<RejectReason>().toEqualTypeOf<(typeof RejectReasons)[keyof typeof RejectReasons]>()
  })

  it('should hold what the coupon issuer emits, issued and rejected alike', async () => {
    const d = new TopologyTestDriver(shopTopology('shop'), { partitions: 1 })
    d.setLookup('coupons', '7', { totalQuantity: 1, issuedQuantity: 0, expiresAt: null })
    for (const userId of [1, 2]) d.setLookup('users', String(userId), true)
    for (const userId of [1, 2, 3]) d.pipe('coupon-issue-topic', '7', { userId, couponId: 7 })
    await d.process()
    const parse = jsonSchemaValue(CouponIssueResult)
    const parsed = d.output('coupon-issue-result-topic').map((r) => parse(json(r.value), r.key))
    expect(parsed.map((r) => (r.status === 'ISSUED' ? r.status : r.reason))).toEqual([
      'ISSUED',
      'SOLD_OUT',
      'USER_NOT_FOUND',
    ])
  })
})
