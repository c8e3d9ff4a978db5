/**
 * The sales ranking's Redis keys and days. A day is the Seoul calendar day (UTC+9, no DST) of an
 * order's completed_at, `YYYYMMDD`, as the seed keys its sorted sets; each day has the set of orders
 * already counted (which makes every application once-only) and the sorted set of quantities.
 */

/** Seoul is UTC+9 all year. */
const SEOUL_OFFSET_MS = 9 * 3_600_000
const DAY_MS = 86_400_000

/** Days a day's keys live: the longest query (7 days) plus one, so a day never expires mid-window. */
export const RETENTION_DAYS = 8

/** `YYYYMMDD` of the Seoul day that contains the instant `ms`. */
export function seoulDay(ms: number): string {
  return new Date(ms + SEOUL_OFFSET_MS).toISOString().slice(0, 10).replaceAll('-', '')
}

/** The Seoul days ending with the one containing `now`, newest first. */
export function lastDays(now: number, days: number): string[] {
  return Array.from({ length: days }, (_, i) => seoulDay(now - i * DAY_MS))
}

/** The instant (ms) the Seoul day containing `ms` began. */
export function startOfSeoulDay(ms: number): number {
  return Math.floor((ms + SEOUL_OFFSET_MS) / DAY_MS) * DAY_MS - SEOUL_OFFSET_MS
}

/** When a day's keys expire (unix seconds): RETENTION_DAYS after the day began, whoever writes them. */
export function expiryOf(dayStartMs: number): number {
  return Math.floor((dayStartMs + RETENTION_DAYS * DAY_MS) / 1000)
}

export interface RankingKeys {
  /** Present while the view is complete; absent after Redis lost its data, until a rebuild. */
  readonly ready: string
  /** A scratch key the top query unions into and deletes within one script. */
  readonly scratch: string
  orders(day: string): string
  sales(day: string): string
}

/** Keys under a deployment's prefix (the topic prefix; empty in production, the seed's names). */
export function rankingKeys(prefix = ''): RankingKeys {
  return Object.freeze({
    ready: `${prefix}ranking:ready`,
    scratch: `${prefix}ranking:top:scratch`,
    orders: (day: string) => `${prefix}ranking:orders:${day}`,
    sales: (day: string) => `${prefix}ranking:sales:${day}`,
  })
}
