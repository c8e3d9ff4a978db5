/**
 * The sales ranking: a view in Redis derived from the COMPLETED orders in PostgreSQL (CONTRACT.md
 * 2.11). One sorted set per Seoul day, as the seed keys them, plus per day the set of orders counted,
 * so an order's quantities are added once however often its event arrives. `ranking:ready` says the
 * view is complete; a Redis that lost it (restarted empty, or never built) is rebuilt from PostgreSQL
 * in one atomic step, and the ranking is not served until then.
 *
 * @example
 *   const ranking = new SalesRanking(redis)
 *   if (!(await ranking.isReady())) await ranking.rebuild(db)
 *   await ranking.apply({ orderId: 7, completedAt: new Date(), items: [{ productId: 3, quantity: 2 }] })
 *   await ranking.top(5, 3) // [{ productId: 3, salesCount: 2 }]
 */
import type { Kysely } from 'kysely'
import type { RedisClientType } from 'redis'
import { CommerceError } from '../service/errors.ts'
import {
  expiryOf,
  lastDays,
  type RankingKeys,
  RETENTION_DAYS,
  rankingKeys,
  seoulDay,
  startOfSeoulDay,
} from './ranking-keys.ts'
import { APPLY_ORDER, NOT_READY, REBUILD, TOP } from './ranking-scripts.ts'
import { completedSince, type OrderLineQuantity } from './ranking-source.ts'
import type { Database } from './schema.ts'

export const MAX_TOP_LIMIT = 100
export const MAX_TOP_DAYS = 7

export interface CompletedOrder {
  orderId: number
  completedAt: Date
  items: readonly OrderLineQuantity[]
}

export interface RankedProduct {
  productId: number
  salesCount: number
}

/** applied: counted now; duplicate: counted before; not-ready: refused until a rebuild; expired: older than the kept days. */
export type ApplyOutcome = 'applied' | 'duplicate' | 'not-ready' | 'expired'

export class SalesRanking {
  readonly #redis: RedisClientType
  readonly keys: RankingKeys

  constructor(redis: RedisClientType, options: { prefix?: string } = {}) {
    this.#redis = redis
    this.keys = rankingKeys(options.prefix)
  }

  /** Whether the view is complete (`ranking:ready` exists). */
  async isReady(): Promise<boolean> {
    return (await this.#client().exists(this.keys.ready)) === 1
  }

  /** Adds one COMPLETED order's quantities to its day, once per order. */
  async apply(order: CompletedOrder, now = Date.now()): Promise<ApplyOutcome> {
    const completedAt = order.completedAt.getTime()
    const expireAt = expiryOf(startOfSeoulDay(completedAt))
    // A day whose keys are already gone: EXPIREAT in the past would delete that day's keys outright.
    if (expireAt * 1000 <= now) return 'expired'
    const day = seoulDay(completedAt)
    const reply = await this.#client().eval(APPLY_ORDER, {
      keys: [this.keys.ready, this.keys.orders(day), this.keys.sales(day)],
      arguments: [
        String(order.orderId),
        String(expireAt),
        ...order.items.flatMap((i) => [String(i.productId), String(i.quantity)]),
      ],
    })
    return reply === NOT_READY ? 'not-ready' : reply === 1 ? 'applied' : 'duplicate'
  }

  /**
   * The best-selling products over the last `days` Seoul days (today included), highest first.
   * Throws RANKING_REBUILDING while the view is not complete: a partial ranking is never served.
   */
  async top(limit: number, days: number, now = Date.now()): Promise<RankedProduct[]> {
    if (!(limit >= 1 && limit <= MAX_TOP_LIMIT && days >= 1 && days <= MAX_TOP_DAYS))
      throw new RangeError(`top(${limit}, ${days}): limit 1..${MAX_TOP_LIMIT}, days 1..${MAX_TOP_DAYS}`)
    const reply = await this.#client().eval(TOP, {
      keys: [this.keys.ready, this.keys.scratch, ...lastDays(now, days).map((d) => this.keys.sales(d))],
      arguments: [String(limit)],
    })
    if (reply === NOT_READY) throw rebuilding()
    const flat = reply as string[]
    const top: RankedProduct[] = []
    for (let i = 0; i < flat.length; i += 2)
      top.push({ productId: Number(flat[i]), salesCount: Number(flat[i + 1]) })
    return top
  }

  /**
   * Rebuilds the last RETENTION_DAYS days from the COMPLETED orders in PostgreSQL and marks the view
   * ready, in one script. False when the view was already ready (another rebuild won): nothing written.
   */
  async rebuild(db: Kysely<Database>, now = Date.now()): Promise<boolean> {
    const days = lastDays(now, RETENTION_DAYS)
    const from = startOfSeoulDay(now) - (RETENTION_DAYS - 1) * 86_400_000
    const snapshot = await completedSince(db, new Date(from))
    const payload = days.map((day, i) => ({
      expireAt: expiryOf(startOfSeoulDay(now) - i * 86_400_000),
      orders: snapshot.orders.get(day) ?? [],
      sales: [...(snapshot.sales.get(day) ?? [])].flatMap(([productId, qty]) => [String(qty), productId]),
    }))
    const reply = await this.#client().eval(REBUILD, {
      keys: [this.keys.ready, ...days.flatMap((d) => [this.keys.orders(d), this.keys.sales(d)])],
      // cjson decodes an empty JSON array as an empty table either way; strings keep ids exact.
      arguments: [JSON.stringify(payload)],
    })
    return reply === 1
  }

  /**
   * The client, when connected. node-redis queues commands while disconnected and would hold a request
   * until Redis returns: we fail at once instead, and callers answer 503 or wait with back-off.
   */
  #client(): RedisClientType {
    if (!this.#redis.isReady) throw new CommerceError('DEPENDENCY_UNAVAILABLE', 'redis: not connected')
    return this.#redis
  }
}

const rebuilding = () =>
  new CommerceError('RANKING_REBUILDING', 'the sales ranking is being rebuilt from the orders: retry shortly')
