/**
 * The seed's order consumer (kafka-event-architecture.ko.md section 2.3), as faithfully as it goes on
 * this stack: a @KafkaListener with concurrency 3 (one consumer thread per partition) whose
 * `consumeOrderCreatedEvent` runs, per order, (1) `decreaseStockWithLock` — the Redisson multi-lock of
 * the order's products around one transaction; here the lock is `select ... for update` of those
 * product rows in id order, in that same transaction — then one transaction per step: (2) deduct the
 * points, (3) use the coupon, (4) ZINCRBY the day's ranking in Redis per line, (5) complete the order;
 * on a failure it marks the order FAILED and gives back what the steps took, newest first (the seed
 * sends restore events to consumers of its own; here each restore is a transaction of its own, which
 * if anything favours it). Then the message's offset is committed (AckMode.RECORD).
 *
 * The business rules are ours, so that both sides must reach the same outcomes: a points deduction
 * reads the user `for update` (the seed's read-modify-write could lose an update when two partitions
 * charge one user), and the coupon step checks the owner and that it is unused, as our user owner does.
 * The consumer is the same client and subscription path as the coupon benchmark's seed style.
 */
import { performance } from 'node:perf_hooks'
import { MessagesStreamModes } from '@platformatic/kafka'
import pg from 'pg'
import { createClient } from 'redis'
import type { PhaseBase } from '../harness/infra.ts'
import { listenPerPartition, seedConsumer } from '../harness/listeners.ts'
import { type PhaseMeasures, PhaseMeter, quantile, type Rate } from '../harness/measure.ts'
import { childPhase } from '../harness/phase.ts'

export interface SeedConfig extends PhaseBase {
  group: string
  /** The topic read, and its end offset per partition (decimal strings: JSON has no bigint). */
  input: string
  ends: string[]
  total: number
  redisUrl: string
  /** The Redis key of the day's sales ranking (ZINCRBY productId by quantity). */
  rankingKey: string
}

export interface SeedResult extends PhaseMeasures {
  committed: Rate
  /** Per order: from its first statement to its final status committed (all its transactions). */
  orderP50Ms: number
  orderP99Ms: number
  orderMeanMs: number
  transactions: number
  redisCalls: number
  offsetCommitMeanMs: number
}

interface OrderEvent {
  orderId: number
  userId: number
  userCouponId: number | null
  finalAmount: number
  cartItems: Array<{ productId: number; quantity: number }>
}

class OrderFailure extends Error {
  readonly reason: string
  constructor(reason: string) {
    super(reason)
    this.reason = reason
  }
}

const statement = (name: string, text: string) => (values: unknown[]) => ({ name, text, values })
const q = {
  lockProducts: statement(
    'seed-lock-products',
    'select id, stock from products where id = any($1::bigint[]) order by id for update',
  ),
  setStock: statement('seed-set-stock', 'update products set stock = $2 where id = $1'),
  addStock: statement('seed-add-stock', 'update products set stock = stock + $2 where id = $1'),
  user: statement('seed-user', 'select points from users where id = $1 for update'),
  setPoints: statement('seed-set-points', 'update users set points = $2 where id = $1'),
  history: statement(
    'seed-history',
    `insert into point_history (event_id, user_id, kind, amount, balance_after, order_id)
     values ($1, $2, $3, $4, $5, $6)`,
  ),
  coupon: statement('seed-coupon', 'select user_id, used from user_coupons where id = $1 for update'),
  useCoupon: statement(
    'seed-use-coupon',
    'update user_coupons set used = true, used_at = now(), order_id = $2 where id = $1',
  ),
  complete: statement(
    'seed-complete',
    `update orders set status = 'COMPLETED', saga_step = 'DONE', completed_at = now() where id = $1`,
  ),
  fail: statement(
    'seed-fail',
    `update orders set status = 'FAILED', saga_step = 'DONE', failure_reason = $2, failed_at = now()
     where id = $1`,
  ),
}

type Tx = <T>(body: (c: pg.PoolClient) => Promise<T>) => Promise<T>

/** consumeOrderCreatedEvent: the steps, each its own transaction, and the compensation on a failure. */
async function consumeOrder(
  tx: Tx,
  zincrby: (productId: number, qty: number) => Promise<void>,
  e: OrderEvent,
) {
  let stockDecreased = false
  let pointsDeducted = false
  try {
    // 1. decreaseStockWithLock: all of the order's products, or none.
    await tx(async (c) => {
      const ids = [...new Set(e.cartItems.map((l) => l.productId))].sort((a, b) => a - b)
      const rows = (await c.query(q.lockProducts([ids]))).rows as Array<{ id: string; stock: number }>
      const stock = new Map(rows.map((r) => [Number(r.id), r.stock]))
      for (const l of e.cartItems) {
        const left = stock.get(l.productId)
        if (left === undefined) throw new OrderFailure('PRODUCT_NOT_FOUND')
        if (left < l.quantity) throw new OrderFailure('INSUFFICIENT_STOCK')
        stock.set(l.productId, left - l.quantity)
      }
      for (const l of e.cartItems) await c.query(q.setStock([l.productId, stock.get(l.productId)]))
    })
    stockDecreased = true
    // 2. deductPointForOrder.
    await tx(async (c) => {
      const user = (await c.query(q.user([e.userId]))).rows[0] as { points: string } | undefined
      if (!user) throw new OrderFailure('USER_NOT_FOUND')
      const balance = Number(user.points) - e.finalAmount
      if (balance < 0) throw new OrderFailure('INSUFFICIENT_POINTS')
      await c.query(q.setPoints([e.userId, balance]))
      await c.query(
        q.history([`payment/${e.orderId}`, e.userId, 'PAYMENT', e.finalAmount, balance, e.orderId]),
      )
    })
    pointsDeducted = true
    // 3. processCouponUsage.
    if (e.userCouponId !== null)
      await tx(async (c) => {
        const coupon = (await c.query(q.coupon([e.userCouponId]))).rows[0] as
          | { user_id: string; used: boolean }
          | undefined
        if (!coupon || Number(coupon.user_id) !== e.userId || coupon.used)
          throw new OrderFailure('COUPON_NOT_USABLE')
        await c.query(q.useCoupon([e.userCouponId, e.orderId]))
      })
    // 4. the ranking, one ZINCRBY per line; 5. completeOrder.
    for (const l of e.cartItems) await zincrby(l.productId, l.quantity)
    await tx((c) => c.query(q.complete([e.orderId])))
  } catch (error) {
    if (!(error instanceof OrderFailure)) throw error
    await tx((c) => c.query(q.fail([e.orderId, error.reason])))
    if (pointsDeducted)
      await tx(async (c) => {
        const { points } = (await c.query(q.user([e.userId]))).rows[0] as { points: string }
        const balance = Number(points) + e.finalAmount
        await c.query(q.setPoints([e.userId, balance]))
        await c.query(
          q.history([`restore/${e.orderId}/points`, e.userId, 'RESTORE', e.finalAmount, balance, e.orderId]),
        )
      })
    if (stockDecreased)
      await tx(async (c) => {
        for (const l of e.cartItems) await c.query(q.addStock([l.productId, l.quantity]))
      })
  }
}

export const seedStyle = childPhase(import.meta.url, 'seedStyle', runSeed)

async function runSeed(config: SeedConfig): Promise<SeedResult> {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.ends.length })
  pool.on('error', () => {})
  const redis = createClient({ url: config.redisUrl })
  redis.on('error', () => {})
  await redis.connect()
  const consumer = seedConsumer(config)
  const ends = config.ends.map(Number)
  const orderMs: number[] = []
  let transactions = 0
  let redisCalls = 0
  const tx: Tx = async (body) => {
    const client = await pool.connect()
    transactions++
    try {
      await client.query('begin')
      const result = await body(client)
      await client.query('commit')
      return result
    } catch (error) {
      await client.query('rollback').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }
  const zincrby = async (productId: number, quantity: number) => {
    redisCalls++
    await redis.zIncrBy(config.rankingKey, quantity, String(productId))
  }
  const meter = new PhaseMeter(ends, config.database)
  try {
    const stream = await consumer.consume({ topics: [config.input], mode: MessagesStreamModes.EARLIEST })
    meter.started()
    // One listener thread per partition: each order to its final status, as the seed's listener does.
    const { handled, offsetCommitMs } = await listenPerPartition(
      stream,
      { ends, total: config.total, meter },
      async (message) => {
        const event = JSON.parse((message.value as Buffer).toString('utf8')) as OrderEvent
        const t0 = performance.now()
        await consumeOrder(tx, zincrby, { ...event, userCouponId: event.userCouponId ?? null })
        orderMs.push(performance.now() - t0)
      },
    )
    const committed = { records: handled, seconds: meter.seconds() }
    const measures = meter.stop(config.total)
    await stream.close().catch(() => {})
    return {
      ...measures,
      committed,
      orderP50Ms: quantile(orderMs, 0.5),
      orderP99Ms: quantile(orderMs, 0.99),
      orderMeanMs: orderMs.reduce((s, t) => s + t, 0) / Math.max(1, orderMs.length),
      transactions,
      redisCalls,
      offsetCommitMeanMs: offsetCommitMs / Math.max(1, handled),
    }
  } finally {
    meter.close()
    await consumer.close(true).catch(() => {})
    await pool.end().catch(() => {})
    await redis.quit().catch(() => {})
  }
}
