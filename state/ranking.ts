/**
 * The sales ranking: a view in Redis derived from the COMPLETED orders in PostgreSQL (CONTRACT.md
 * 2.11). One sorted set per Seoul day, as the seed keys them, plus per day the set of orders counted,
 * so an order's quantities are added once however often its event arrives. `ranking:ready` says the
 * view is complete, and of which database (state/ranking-source.ts, databaseIdentity); a Redis that
 * lost it (restarted empty, or never built) or holds another database's view (the database was
 * created anew, or the service points at another one) is rebuilt from PostgreSQL in one atomic step,
 * and the ranking is not served until then.
 *
 * @example
 *   const ranking = new SalesRanking(redis, db)
 *   if (!(await ranking.isReady())) await ranking.rebuild()
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
import { completedSince, databaseIdentity, type OrderLineQuantity } from './ranking-source.ts'
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
  readonly #db: Kysely<Database>
  /**
   * The database's identity as last read, the scripts compare the marker with it; a promise, so the
   * calls of a batch share one read.
   */
  #database: Promise<string> | undefined
  readonly keys: RankingKeys

  /** A view of the COMPLETED orders in `db`, kept in `redis`. */
  constructor(redis: RedisClientType, db: Kysely<Database>, options: { prefix?: string } = {}) {
    this.#redis = redis
    this.#db = db
    this.keys = rankingKeys(options.prefix)
  }

  /** Whether the view is complete and built from this database (`ranking:ready` names it). */
  async isReady(): Promise<boolean> {
    // Read anew: the projector's watch asks every second, and so notices a database created anew.
    this.#database = undefined
    const database = await this.#knownDatabase()
    return (await this.#client().get(this.keys.ready)) === database
  }

  /** Adds one COMPLETED order's quantities to its day, once per order. */
  async apply(order: CompletedOrder, now = Date.now()): Promise<ApplyOutcome> {
    const completedAt = order.completedAt.getTime()
    const expireAt = expiryOf(startOfSeoulDay(completedAt))
    // A day whose keys are already gone: EXPIREAT in the past would delete that day's keys outright.
    if (expireAt * 1000 <= now) return 'expired'
    const day = seoulDay(completedAt)
    const known = this.#knownDatabase()
    const database = await known
    const reply = await this.#client().eval(APPLY_ORDER, {
      keys: [this.keys.ready, this.keys.orders(day), this.keys.sales(day)],
      arguments: [
        database,
        String(order.orderId),
        String(expireAt),
        ...order.items.flatMap((i) => [String(i.productId), String(i.quantity)]),
      ],
    })
    if (reply === NOT_READY) this.#forget(known)
    return reply === NOT_READY ? 'not-ready' : reply === 1 ? 'applied' : 'duplicate'
  }

  /**
   * The best-selling products over the last `days` Seoul days (today included), highest first.
   * Throws RANKING_REBUILDING while the view is not complete: a partial ranking is never served.
   */
  async top(limit: number, days: number, now = Date.now()): Promise<RankedProduct[]> {
    if (!(limit >= 1 && limit <= MAX_TOP_LIMIT && days >= 1 && days <= MAX_TOP_DAYS))
      throw new RangeError(`top(${limit}, ${days}): limit 1..${MAX_TOP_LIMIT}, days 1..${MAX_TOP_DAYS}`)
    const known = this.#knownDatabase()
    const database = await known
    const reply = await this.#client().eval(TOP, {
      keys: [this.keys.ready, this.keys.scratch, ...lastDays(now, days).map((d) => this.keys.sales(d))],
      arguments: [database, String(limit)],
    })
    if (reply === NOT_READY) {
      this.#forget(known)
      throw rebuilding()
    }
    const flat = reply as string[]
    const top: RankedProduct[] = []
    for (let i = 0; i < flat.length; i += 2)
      top.push({ productId: Number(flat[i]), salesCount: Number(flat[i + 1]) })
    return top
  }

  /**
   * Rebuilds the last RETENTION_DAYS days from the COMPLETED orders in PostgreSQL and marks the view
   * ready for this database, in one script. False when the view was already ready for it (another
   * rebuild won): nothing written.
   */
  async rebuild(now = Date.now()): Promise<boolean> {
    const days = lastDays(now, RETENTION_DAYS)
    const from = startOfSeoulDay(now) - (RETENTION_DAYS - 1) * 86_400_000
    const snapshot = await completedSince(this.#db, new Date(from))
    this.#database = Promise.resolve(snapshot.database)
    const payload = days.map((day, i) => ({
      expireAt: expiryOf(startOfSeoulDay(now) - i * 86_400_000),
      orders: snapshot.orders.get(day) ?? [],
      sales: [...(snapshot.sales.get(day) ?? [])].flatMap(([productId, qty]) => [String(qty), productId]),
    }))
    const reply = await this.#client().eval(REBUILD, {
      keys: [this.keys.ready, ...days.flatMap((d) => [this.keys.orders(d), this.keys.sales(d)])],
      // cjson decodes an empty JSON array as an empty table either way; strings keep ids exact.
      arguments: [snapshot.database, JSON.stringify(payload)],
    })
    return reply === 1
  }

  #knownDatabase(): Promise<string> {
    if (!this.#database) {
      const reading = databaseIdentity(this.#db)
      this.#database = reading
      // A failed read is not kept: the next call reads again.
      reading.catch(() => this.#forget(reading))
    }
    return this.#database
  }

  /**
   * A refusal may come from a marker of the database as it is now, while this instance still knows it
   * as it was: the next call reads it anew (an API-only instance has no watch that would).
   */
  #forget(known: Promise<string>): void {
    if (this.#database === known) this.#database = undefined
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
