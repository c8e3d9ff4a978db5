/**
 * Field schemas the shop's topic records and HTTP bodies share, declared once (TypeBox): each is a
 * JSON Schema for validators and documents, and gives its TypeScript type through `Static<>`.
 */
import { Type } from 'typebox'

/** Ids are positive integers that JSON and JavaScript carry exactly (PostgreSQL bigint holds them). */
export const EntityId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

/**
 * The lookup keys that can be ids (at most 15 digits): the readers cast them to bigint[], which one
 * key like "abc" or a 20-digit number would fail for the whole batch; such a key has no row anyway.
 */
export const idKeys = (keys: readonly string[]) => keys.filter((k) => /^\d{1,15}$/.test(k))

// The last two instants asked, newest first: a coupon request asks for its record's timestamp and for
// the clock in turn, so one slot would miss every time.
let newest = { ms: Number.NaN, iso: '' }
let older = { ms: Number.NaN, iso: '' }

/**
 * `new Date(ms).toISOString()`, remembered for the last two instants: the records of a batch mostly
 * share their timestamps' and the clock's millisecond, and a call costs ~0.7 µs, two or three per
 * coupon request (5% of the tasks' thread in bench:coupons). An invalid instant still throws
 * RangeError, as the Date call does.
 */
export function isoAt(ms: number): string {
  if (ms === newest.ms) return newest.iso
  if (ms !== older.ms) older = { ms, iso: new Date(ms).toISOString() }
  ;[newest, older] = [older, newest]
  return newest.iso
}

/** Money and points: non-negative integers, carried exactly. */
export const Amount = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/** Not only UUIDs: requests produced straight to the topic carry their own ids, or derived ones. */
export const RequestId = Type.String({ minLength: 1, maxLength: 200 })

/** The shape the pattern admits; the calendar is checked by `isIsoInstant`. */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/

/**
 * Whether `value` is an ISO-8601 date-time naming a real instant. `Date.parse` alone is far too
 * lenient ("1" is the year 2001, February 30th is March 2nd): such a value would be accepted and then
 * refused by PostgreSQL's timestamptz at commit, failing the whole batch.
 */
export function isIsoInstant(value: string): boolean {
  const match = ISO_DATE_TIME.exec(value)
  if (!match || Number.isNaN(Date.parse(value))) return false
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  if (year < 1 || month < 1 || month > 12) return false
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day
}

/**
 * An instant written by another producer: an ISO-8601 date-time with an offset, decoded (by
 * `jsonSchemaValue`) to the same instant in UTC, as `Date.prototype.toISOString` writes it.
 */
export const IsoInstant = Type.Decode(
  Type.Refine(
    Type.String({ pattern: ISO_DATE_TIME.source, description: 'an ISO-8601 date-time with an offset' }),
    isIsoInstant,
    () => 'must be an ISO-8601 date-time naming a real instant',
  ),
  (value) => new Date(value).toISOString(),
)
