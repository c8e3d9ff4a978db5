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

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/

/**
 * An ISO-8601 date-time as the instant it names (normalized to UTC), or null. `Date.parse` alone is
 * far too lenient ("1" is the year 2001, February 30th is March 2nd): such a value would pass here and
 * be refused by PostgreSQL's timestamptz at commit.
 */
function isoInstant(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const match = ISO_DATE_TIME.exec(value)
  const ms = Date.parse(value)
  if (!match || Number.isNaN(ms)) return null
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (year < 1 || month < 1 || month > 12) return null
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null
  return new Date(ms).toISOString()
}

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
  const requestedAt = v.requestedAt === undefined ? undefined : isoInstant(v.requestedAt)
  if (requestedAt === null)
    throw new RecordError('VALIDATION_FAILED', 'requestedAt: must be an ISO-8601 date-time')
  return {
    userId: v.userId as number,
    couponId: v.couponId as number,
    ...(v.requestId !== undefined ? { requestId: v.requestId as string } : {}),
    ...(requestedAt !== undefined ? { requestedAt } : {}),
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
