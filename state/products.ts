/**
 * The product aggregate: a name, a description, a price (integer won) and the units in stock. Stock is
 * written by the stock owner (the saga's processor) once a product exists; this module creates
 * products and reads what the owner committed.
 */
import type { Kysely } from 'kysely'
import type { Database } from './schema.ts'

export interface Product {
  productId: number
  name: string
  description: string | null
  price: number
  stock: number
}

export interface NewProduct {
  name: string
  description?: string | null
  price: number
  stock: number
}

const columns = ['id', 'name', 'description', 'price', 'stock'] as const

const toProduct = (row: {
  id: string
  name: string
  description: string | null
  price: string
  stock: number
}): Product => ({
  productId: Number(row.id),
  name: row.name,
  description: row.description,
  price: Number(row.price),
  stock: row.stock,
})

export async function createProduct(db: Kysely<Database>, input: NewProduct): Promise<Product> {
  // initial_stock is set by a trigger: it is what the conservation check compares stock with.
  const row = await db
    .insertInto('products')
    .values({
      name: input.name,
      description: input.description ?? null,
      price: input.price,
      stock: input.stock,
    })
    .returning(columns)
    .executeTakeFirstOrThrow()
  return toProduct(row)
}

export async function findProduct(db: Kysely<Database>, productId: number): Promise<Product | undefined> {
  const row = await db
    .selectFrom('products')
    .select(columns)
    .where('id', '=', String(productId))
    .executeTakeFirst()
  return row && toProduct(row)
}

/** Products by id, for the ids that exist (in no particular order). */
export async function findProducts(db: Kysely<Database>, productIds: readonly number[]): Promise<Product[]> {
  if (productIds.length === 0) return []
  const rows = await db
    .selectFrom('products')
    .select(columns)
    .where('id', 'in', productIds.map(String))
    .execute()
  return rows.map(toProduct)
}

/** A page of the catalogue in id order: the products after `after`, at most `limit`. */
export async function listProducts(
  db: Kysely<Database>,
  page: { limit: number; after?: number | undefined },
): Promise<Product[]> {
  let query = db.selectFrom('products').select(columns).orderBy('id').limit(page.limit)
  if (page.after !== undefined) query = query.where('id', '>', String(page.after))
  return (await query.execute()).map(toProduct)
}
