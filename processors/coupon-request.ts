/** The `coupon-issue-topic` record (CONTRACT.md section 1): its schema, its type and its parser. */
import { type Static, type StaticDecode, Type } from 'typebox'
import { RecordError } from '../topology/errors.ts'
import { jsonSchemaValue } from '../topology/schema.ts'
import { EntityId, IsoInstant, RequestId } from './fields.ts'

/**
 * A request as any producer may write it. Our API always sets `requestId` and `requestedAt`; another
 * producer may leave them out (the processor then derives the id from the log position and judges the
 * request by its record timestamp). Unknown fields are ignored.
 */
export const CouponIssueRequest = Type.Object({
  requestId: Type.Optional(RequestId),
  userId: EntityId,
  couponId: EntityId,
  requestedAt: Type.Optional(IsoInstant),
})
/** As parsed: `requestedAt`, when present, is normalized to UTC. */
export type CouponIssueRequest = StaticDecode<typeof CouponIssueRequest>

/** The record our API writes (through the outbox): every field set. */
export const CouponIssueRecord = Type.Required(CouponIssueRequest)
export type CouponIssueRecord = Static<typeof CouponIssueRecord>

const parseJson = jsonSchemaValue(CouponIssueRequest)

/**
 * Parses a request and checks it is keyed by its coupon: a mis-keyed request could land on a partition
 * that does not own the coupon, and first-come-first-served would no longer hold.
 */
export function parseCouponIssueRequest(value: Buffer | null, key: string | null): CouponIssueRequest {
  const request = parseJson(value, key)
  if (key !== String(request.couponId)) {
    throw new RecordError('KEY_MISMATCH', `key: "${key}" must be the couponId "${request.couponId}"`)
  }
  return request
}
