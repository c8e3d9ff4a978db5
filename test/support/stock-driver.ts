/**
 * The stock owner alone on the test driver (the shop's topology, commands piped to its topic), for
 * test/unit/stock-owner*.test.ts.
 */
import type { SagaReply, StockCommand } from '../../processors/order-commands.ts'
import { shopTopology } from '../../processors/shop-topology.ts'
import { StockLookups, StockStores } from '../../processors/stock-owner.ts'
import { TopologyTestDriver } from '../../topology/driver/test-driver.ts'
import { partitionForKey } from '../../topology/partitioner.ts'
import { failedOrders } from './saga-driver.ts'

export const COMMANDS = 'shop-stock-commands'
export const REPLIES = 'shop-saga-replies'

/** With 3 partitions, products 10, 12 and 13 are on partition 1 and 11 on partition 0 (murmur2). */
export const P = (productId: number) => partitionForKey(String(productId), 3)

export function driver(stock: Record<number, number> = { 10: 3 }) {
  const d = new TopologyTestDriver(shopTopology('shop'), { partitions: 3 })
  for (const [productId, units] of Object.entries(stock)) d.setLookup(StockLookups.STOCK, productId, units)
  failedOrders(d)
  return d
}
export type Lines = ReadonlyArray<readonly [productId: number, quantity: number]>
export const command = (orderId: number, lines: Lines, forwarded?: boolean): StockCommand => ({
  kind: 'reserve',
  orderId,
  lines: lines.map(([productId, quantity]) => ({ productId, quantity })),
  ...(forwarded === undefined ? {} : { forwarded }),
})
export const replies = (d: TopologyTestDriver) => d.output<SagaReply>(REPLIES).map((r) => r.value)
/** The stock a partition's owner committed for a product. */
export const stockAt = (d: TopologyTestDriver, partition: number, productId: number) =>
  d.store<number>(StockStores.STOCK, partition).get(String(productId))
export const stockOf = (d: TopologyTestDriver, productId: number) => stockAt(d, P(productId), productId)
