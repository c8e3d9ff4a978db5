/** The `coupon-issue-topic` record (CONTRACT.md section 1), parsed and validated. */
import { RecordError } from '../topology/errors.ts'
import { jsonValue } from '../topology/serde.ts'

export interface CouponIssueRequest {
  requestId?: string
  userId: number
  couponId: number
  requestedAt?: string
}

const positiveId = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0

const validate = (value: unknown): CouponIssueRequest => {
  const v = value as Record<string, unknown>
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new RecordError('VALIDATION_FAILED', 'value: must be an object')
  if (!positiveId(v.userId)) throw new RecordError('VALIDATION_FAILED', 'userId: must be a positive integer')
  if (!positiveId(v.couponId))
    throw new RecordError('VALIDATION_FAILED', 'couponId: must be a positive integer')
  if (
    v.requestId !== undefined &&
    (typeof v.requestId !== 'string' || v.requestId.length === 0 || v.requestId.length > 200)
  ) {
    throw new RecordError(
      'VALIDATION_FAILED',
      'requestId: must be a non-empty string of at most 200 characters',
    )
  }
  if (
    v.requestedAt !== undefined &&
    (typeof v.requestedAt !== 'string' || Number.isNaN(Date.parse(v.requestedAt)))
  ) {
    throw new RecordError('VALIDATION_FAILED', 'requestedAt: must be an ISO-8601 date-time')
  }
  return {
    userId: v.userId as number,
    couponId: v.couponId as number,
    ...(v.requestId !== undefined ? { requestId: v.requestId as string } : {}),
    ...(v.requestedAt !== undefined ? { requestedAt: v.requestedAt as string } : {}),
  }
}

const parseJson = jsonValue(validate)

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
