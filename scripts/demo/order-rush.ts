/**
 * The order rush, after the flash sale: many users ordering scarce products at once through the API,
 * some using a coupon they also use in another order at the same moment, some with points for only
 * one of the two orders they place together, plus orders produced straight to `order-created-topic`
 * as another service would. Then it waits for every order to end and reports (order-report.ts).
 */
import { compatibilityPartitioner, Producer, stringSerializers } from '@platformatic/kafka'
import pg from 'pg'
import { topicNames } from '../../processors/topics.ts'
import type { Config } from '../../service/config.ts'
import { type Api, forEachConcurrently } from './http.ts'
import { reportOrders } from './order-report.ts'

export interface RushOptions {
  products: number
  /** Units of each product: scarce, so late orders fail and release what they reserved. */
  stock: number
  orders: number
  topicOrders: number
  concurrency: number
}

interface Product {
  productId: number
  price: number
}
type Line = { productId: number; quantity: number }

const line = (text: string) => process.stdout.write(`\r\x1b[2K${text}`)
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!

function lines(products: readonly Product[]): Line[] {
  const chosen = new Set(Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => pick(products)))
  return [...chosen].map((p) => ({ productId: p.productId, quantity: 1 + Math.floor(Math.random() * 2) }))
}

async function admin<T>(api: Api, path: string, body: unknown): Promise<T> {
  const { status, body: reply } = await api.call<T>('POST', path, body, true)
  if (status !== 201) throw new Error(`POST ${path} answered ${status}: ${JSON.stringify(reply)}`)
  return reply
}

export async function runOrderRush(api: Api, config: Config, o: RushOptions): Promise<boolean> {
  const db = new pg.Client({ connectionString: config.databaseUrl })
  await db.connect()
  try {
    process.stdout.write(`\n== Order rush: ${o.products} products of ${o.stock} units each\n`)
    const products: Product[] = []
    for (let i = 0; i < o.products; i++) {
      const price = 1_000 * (1 + (i % 10))
      const p = await admin<Product>(api, '/admin/products', { name: `item-${i}`, price, stock: o.stock })
      products.push({ productId: p.productId, price })
    }
    // The flash sale's winners, with the coupon they won: each uses it in two orders at once.
    const { rows: holders } = await db.query<{ user_id: string; id: string }>(
      'select user_id, id from user_coupons where not used order by random() limit $1',
      [Math.floor(o.orders / 10)],
    )
    const { rows: buyers } = await db.query<{ id: string }>(
      'select id from users order by random() limit $1',
      [o.orders],
    )
    // Users with points for one order of the two they place together.
    const tight: number[] = []
    for (let i = 0; i < Math.floor(o.orders / 20); i++)
      tight.push(
        (await admin<{ userId: number }>(api, '/admin/users', { name: `tight-${i}`, points: 6_000 })).userId,
      )

    type Order = { userId: number; items: Line[]; userCouponId?: number }
    const waves: Order[][] = [
      ...holders.map((h) => {
        const order = { userId: Number(h.user_id), userCouponId: Number(h.id) }
        return [
          { ...order, items: lines(products) },
          { ...order, items: lines(products) },
        ]
      }),
      ...tight.map((userId) => [
        { userId, items: [{ productId: products[4 % products.length]!.productId, quantity: 1 }] },
        { userId, items: [{ productId: products[3 % products.length]!.productId, quantity: 1 }] },
      ]),
    ]
    for (let i = 0; waves.length < o.orders / 2 && i < buyers.length; i++)
      waves.push([{ userId: Number(buyers[i]!.id), items: lines(products) }])
    // Shuffled: coupon races, points races and plain orders all compete for the same stock at once.
    for (let i = waves.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[waves[i], waves[j]] = [waves[j]!, waves[i]!]
    }

    const accepted: number[] = []
    const statuses = new Map<string, number>()
    const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1)
    const started = performance.now()
    let sent = 0
    const progress = setInterval(
      () => line(`orders sent ${sent}  [${[...statuses].map(([s, n]) => `${s}:${n}`).join(' ')}]`),
      250,
    )
    await forEachConcurrently(waves, o.concurrency, async (wave) => {
      // The orders of a wave leave together: the saga, not the pre-check, decides between them.
      await Promise.all(
        wave.map(async (order) => {
          const { status, body } = await api.call<{ code?: string; orderId?: number }>(
            'POST',
            '/orders',
            order,
          )
          count(status === 202 ? '202' : `${status} ${body?.code ?? ''}`)
          if (status === 202 && body.orderId !== undefined) accepted.push(body.orderId)
          sent++
        }),
      )
    })
    clearInterval(progress)
    line(
      `orders sent ${sent} in ${((performance.now() - started) / 1000).toFixed(1)}s  [${[...statuses].map(([s, n]) => `${s}:${n}`).join(' ')}]\n`,
    )

    const topic = topicNames(config.topicPrefix).ORDER_CREATED
    const users = buyers.map((b) => Number(b.id))
    const fromTopic = await produceTopicOrders(config.kafkaBrokers, topic, o.topicOrders, products, users)
    process.stdout.write(`${fromTopic.length} orders produced straight to ${topic}\n`)
    const ids = [...accepted, ...fromTopic]
    await waitForOrders(db, ids)
    return await reportOrders(config, ids)
  } finally {
    await db.end()
  }
}

/** Orders from "another service": ids from a range our sequence will not reach, no coupon. */
async function produceTopicOrders(
  brokers: readonly string[],
  topic: string,
  count: number,
  products: Product[],
  users: number[],
): Promise<number[]> {
  const producer = new Producer({
    clientId: 'demo-upstream-service',
    bootstrapBrokers: [...brokers],
    serializers: stringSerializers,
    partitioner: compatibilityPartitioner,
  })
  const base = 900_000_000 + Math.floor(Math.random() * 1_000) * 100_000
  try {
    const messages = Array.from({ length: count }, (_, i) => {
      const items = lines(products)
      const finalAmount = items.reduce(
        (sum, l) => sum + l.quantity * products.find((p) => p.productId === l.productId)!.price,
        0,
      )
      const orderId = base + i
      const value = { orderId, userId: pick(users), userCouponId: null, finalAmount, cartItems: items }
      return { topic, key: String(orderId), value: JSON.stringify(value) }
    })
    await producer.send({ messages })
    return messages.map((m) => Number(m.key))
  } finally {
    await producer.close()
  }
}

/** Until every order of the rush has ended (present, and not PENDING). */
async function waitForOrders(db: pg.Client, ids: readonly number[]): Promise<void> {
  process.stdout.write('\n== Waiting for the saga\n')
  const started = performance.now()
  for (;;) {
    const { rows } = await db.query<{ ended: number }>(
      "select count(*)::int as ended from orders where id = any($1::bigint[]) and status <> 'PENDING'",
      [ids],
    )
    const { ended } = rows[0]!
    line(`ended ${ended}/${ids.length}`)
    if (ended === ids.length) break
    if (performance.now() - started > 180_000)
      throw new Error(`${ids.length - ended} orders not ended after 180 s`)
    await new Promise((r) => setTimeout(r, 250))
  }
  process.stdout.write('\n')
}
