/**
 * An order's lines as the stock step sends them: summed per product, then grouped by the partition of
 * the stock commands that owns each product, so each stock owner gets one reserve per order (one hop
 * of the order's chain) rather than one per product.
 */
import type { OrderLine } from './order-messages.ts'

/** The quantities of an order's lines, summed per product, in the order the products first appear. */
export function sumLines(lines: readonly OrderLine[]): OrderLine[] {
  const sums = new Map<number, number>()
  for (const { productId, quantity } of lines) sums.set(productId, (sums.get(productId) ?? 0) + quantity)
  return [...sums].map(([productId, quantity]) => ({ productId, quantity }))
}

/**
 * Lines grouped by `partitionOf(productId)`, groups in the order their first line appears, lines in
 * their own order (so the same lines always give the same commands, and the same output ids). A line
 * whose partition is unknown (undefined) is a group of its own: one command per product, keyed by it.
 */
export function groupByPartition<L extends { productId: number }>(
  lines: readonly L[],
  partitionOf: (productId: number) => number | undefined,
): L[][] {
  const groups = new Map<number, L[]>()
  const result: L[][] = []
  for (const line of lines) {
    const partition = partitionOf(line.productId)
    const group = partition === undefined ? undefined : groups.get(partition)
    if (group) group.push(line)
    else {
      const fresh = [line]
      result.push(fresh)
      if (partition !== undefined) groups.set(partition, fresh)
    }
  }
  return result
}
