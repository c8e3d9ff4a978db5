/**
 * The sales ranking on the real Redis and PostgreSQL: the Lua scripts that apply an order once, sum
 * the last days and rebuild the view from the COMPLETED orders.
 */
import type { Kysely } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { isCommerceError } from '../../service/errors.ts'
import { SalesRanking } from '../../state/ranking.ts'
import { seoulDay } from '../../state/ranking-keys.ts'
import { databaseIdentity } from '../../state/ranking-source.ts'
import type { Database } from '../../state/schema.ts'
import { useInfra } from '../support/infra.ts'
import { insertOrder, insertProducts } from '../support/orders.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let db: Kysely<Database>
let ranking: SalesRanking
let prefix = 0
const DAY = 86_400_000
// 12:00 in Seoul (03:00 UTC): a day's arithmetic is far from both midnights.
const NOW = Date.parse('2030-05-20T03:00:00Z')

beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
})
afterAll(async () => {
  await db?.destroy()
})
// Each test gets its own key space under the file's prefix, which the fixture deletes afterwards.
beforeEach(async () => {
  ranking = new SalesRanking(infra.redis, db, { prefix: `${infra.redisPrefix}${++prefix}:` })
})

const order = (orderId: number, at: number, items: Array<[number, number]>) => ({
  orderId,
  completedAt: new Date(at),
  items: items.map(([productId, quantity]) => ({ productId, quantity })),
})

/** Marks the view ready for this file's database, as a rebuild from it would. */
async function ready(): Promise<void> {
  await infra.redis.set(ranking.keys.ready, await databaseIdentity(db))
}

describe('SalesRanking', () => {
  it('apply should count an order once even when it is sent twice, one after the other or at once', async () => {
    await ready()
    expect(
      await ranking.apply(
        order(1, NOW, [
          [10, 2],
          [11, 1],
        ]),
        NOW,
      ),
    ).toBe('applied')
    expect(
      await ranking.apply(
        order(1, NOW, [
          [10, 2],
          [11, 1],
        ]),
        NOW,
      ),
    ).toBe('duplicate')
    const both = await Promise.all([
      ranking.apply(order(2, NOW, [[10, 5]]), NOW),
      ranking.apply(order(2, NOW, [[10, 5]]), NOW),
    ])
    expect(both.sort()).toEqual(['applied', 'duplicate'])
    expect(await ranking.top(5, 1, NOW)).toEqual([
      { productId: 10, salesCount: 7 },
      { productId: 11, salesCount: 1 },
    ])
  })

  it('apply should key an order by the Seoul day of completed_at and expire the keys after 8 days', async () => {
    await ready()
    // 23:30 UTC on the 19th is 08:30 on the 20th in Seoul.
    const lateUtc = Date.parse('2030-05-19T23:30:00Z')
    await ranking.apply(order(3, lateUtc, [[10, 1]]), lateUtc)
    expect(seoulDay(lateUtc)).toBe('20300520')
    expect(await infra.redis.zScore(ranking.keys.sales('20300520'), '10')).toBe(1)
    expect(await infra.redis.sIsMember(ranking.keys.orders('20300520'), '3')).toBe(1)
    // The day began at 2030-05-19T15:00Z; its keys go 8 days later, whenever they were written.
    const expiresAt = Date.parse('2030-05-27T15:00:00Z') / 1000
    expect(await infra.redis.expireTime(ranking.keys.sales('20300520'))).toBe(expiresAt)
    expect(await infra.redis.expireTime(ranking.keys.orders('20300520'))).toBe(expiresAt)
  })

  it('top should sum exactly the last `days` Seoul days, today included, highest first', async () => {
    await ready()
    await ranking.apply(order(1, NOW, [[10, 1]]), NOW)
    await ranking.apply(order(2, NOW - DAY, [[11, 4]]), NOW)
    await ranking.apply(order(3, NOW - 2 * DAY, [[10, 5]]), NOW)
    await ranking.apply(order(4, NOW - 6 * DAY, [[12, 9]]), NOW)
    // A day after tomorrow is never summed into today's window.
    await ranking.apply(order(5, NOW + DAY, [[13, 100]]), NOW)
    expect(await ranking.top(5, 1, NOW)).toEqual([{ productId: 10, salesCount: 1 }])
    expect(await ranking.top(5, 2, NOW)).toEqual([
      { productId: 11, salesCount: 4 },
      { productId: 10, salesCount: 1 },
    ])
    expect(await ranking.top(5, 3, NOW)).toEqual([
      { productId: 10, salesCount: 6 },
      { productId: 11, salesCount: 4 },
    ])
    expect(await ranking.top(5, 7, NOW)).toEqual([
      { productId: 12, salesCount: 9 },
      { productId: 10, salesCount: 6 },
      { productId: 11, salesCount: 4 },
    ])
    expect(await ranking.top(1, 7, NOW)).toEqual([{ productId: 12, salesCount: 9 }])
    // The union is scratch work: nothing of it stays behind.
    expect(await infra.redis.exists(ranking.keys.scratch)).toBe(0)
  })

  it('should refuse to apply and to answer while the ready marker is absent', async () => {
    expect(await ranking.apply(order(1, NOW, [[10, 1]]), NOW)).toBe('not-ready')
    expect(await infra.redis.exists(ranking.keys.orders(seoulDay(NOW)))).toBe(0)
    const error = await ranking.top(5, 3, NOW).catch((e: unknown) => e)
    expect(isCommerceError(error, 'RANKING_REBUILDING')).toBe(true)
  })

  it('should refuse to apply and to answer while the ready marker names another database, until rebuilt', async () => {
    // What a Redis that kept its data holds after the database was created anew, or swapped.
    const identity = await databaseIdentity(db)
    await infra.redis.set(ranking.keys.ready, identity.replace(/\/\d+\//, '/1/'))
    await infra.redis.zAdd(ranking.keys.sales(seoulDay(NOW)), { score: 999, value: '10' })

    expect(await ranking.isReady()).toBe(false)
    expect(await ranking.apply(order(1, NOW, [[10, 1]]), NOW)).toBe('not-ready')
    const error = await ranking.top(5, 1, NOW).catch((e: unknown) => e)
    expect(isCommerceError(error, 'RANKING_REBUILDING')).toBe(true)

    // The window is rebuilt from this database, which sold nothing then: the other one's numbers go.
    expect(await ranking.rebuild(NOW)).toBe(true)
    expect(await infra.redis.get(ranking.keys.ready)).toBe(identity)
    expect(await ranking.top(5, 1, NOW)).toEqual([])
  })

  it('rebuild should write the COMPLETED orders of the last 8 days, replace what was there, and run once', async () => {
    const now = Date.now()
    const [p1, p2, p3] = (await insertProducts(db, 3)) as [number, number, number]
    const today = await insertOrder(db, { status: 'COMPLETED', items: [{ productId: p1, quantity: 3 }] })
    await insertOrder(db, {
      status: 'COMPLETED',
      finishedAt: new Date(now - 2 * DAY),
      items: [
        { productId: p1, quantity: 1 },
        { productId: p2, quantity: 2 },
      ],
    })
    // Neither counts: a failed order, and one completed before the window.
    await insertOrder(db, { status: 'FAILED', items: [{ productId: p3, quantity: 50 }] })
    await insertOrder(db, {
      status: 'COMPLETED',
      finishedAt: new Date(now - 9 * DAY),
      items: [{ productId: p3, quantity: 70 }],
    })
    // Left over from before Redis lost the marker: the rebuild replaces it.
    await infra.redis.zAdd(ranking.keys.sales(seoulDay(now)), { score: 999, value: String(p3) })

    expect(await ranking.rebuild(now)).toBe(true)
    expect(await ranking.isReady()).toBe(true)
    expect(await ranking.top(10, 7, now)).toEqual([
      { productId: p1, salesCount: 4 },
      { productId: p2, salesCount: 2 },
    ])
    // The rebuilt orders are counted: their events, arriving later, add nothing.
    expect(await ranking.apply(order(today, now, [[p1, 3]]), now)).toBe('duplicate')
    // A second rebuild finds the view ready and leaves it alone (events after the first stay counted).
    await insertOrder(db, { status: 'COMPLETED', items: [{ productId: p2, quantity: 10 }] })
    expect(await ranking.rebuild(now)).toBe(false)
    expect(await ranking.top(10, 1, now)).toEqual([{ productId: p1, salesCount: 3 }])
  })
})
