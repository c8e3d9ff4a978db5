/**
 * A user's cart: how many units of which products, priced at today's prices. Ordering from the cart
 * clears the lines it ordered (state/order-placement.ts); nothing else in the shop reads carts.
 */
import { type Kysely, sql } from 'kysely'
import type { Database } from './schema.ts'

export interface CartLine {
  productId: number
  name: string
  price: number
  quantity: number
}

export interface Cart {
  items: CartLine[]
  totalAmount: number
}

/** The user's cart lines with each product's current name and price, in product id order. */
export async function getCart(db: Kysely<Database>, userId: number): Promise<Cart> {
  const rows = await db
    .selectFrom('cart_items as ci')
    .innerJoin('products as p', 'p.id', 'ci.product_id')
    .select(['ci.product_id', 'p.name', 'p.price', 'ci.quantity'])
    .where('ci.user_id', '=', String(userId))
    .orderBy('ci.product_id')
    .execute()
  const items = rows.map((row) => ({
    productId: Number(row.product_id),
    name: row.name,
    price: Number(row.price),
    quantity: row.quantity,
  }))
  // Summed exactly: a price near 2^53 times a quantity would lose digits as a float.
  const total = items.reduce((sum, line) => sum + BigInt(line.price) * BigInt(line.quantity), 0n)
  return { items, totalAmount: Number(total) }
}

export type CartChange = 'USER_NOT_FOUND' | 'PRODUCT_NOT_FOUND' | 'CHANGED'

/**
 * Sets the quantity of one product in the user's cart; 0 removes the line. One statement: the user
 * and the product are checked and the line written together, so a check cannot go stale before the
 * write (users and products are never deleted, but the answer should not depend on that).
 */
export async function setCartQuantity(
  db: Kysely<Database>,
  input: { userId: number; productId: number; quantity: number },
): Promise<CartChange> {
  const { userId, productId, quantity } = input
  const { rows } = await sql<{ user_found: boolean; product_found: boolean }>`
    with
      checked as (
        select
          exists (select 1 from users where id = ${userId}::bigint) as user_found,
          exists (select 1 from products where id = ${productId}::bigint) as product_found
      ),
      removed as (
        delete from cart_items
        where ${quantity}::int = 0 and user_id = ${userId}::bigint and product_id = ${productId}::bigint
      ),
      upserted as (
        insert into cart_items (user_id, product_id, quantity)
        select ${userId}::bigint, ${productId}::bigint, ${quantity}::int from checked
        where ${quantity}::int > 0 and user_found and product_found
        on conflict (user_id, product_id) do update set quantity = excluded.quantity, updated_at = now()
      )
    select user_found, product_found from checked`.execute(db)
  const row = rows[0]!
  if (!row.user_found) return 'USER_NOT_FOUND'
  if (!row.product_found) return 'PRODUCT_NOT_FOUND'
  return 'CHANGED'
}
