/**
 * Order-side helpers over the api fixture: place an order, fill a cart, and read everything an order
 * leaves behind for a user (to prove a refused one left nothing).
 */
import { useApiFixture } from './api-fixture.ts'

export function useOrderFixture() {
  const fixture = useApiFixture()
  const { admin, api } = fixture
  const order = (body: object) => api.app.inject({ method: 'POST', url: '/orders', payload: body })
  const putCart = (userId: number, productId: number, quantity: number) =>
    api.app.inject({ method: 'PUT', url: `/users/${userId}/carts/${productId}`, payload: { quantity } })

  const userWith = async (points: number) =>
    (await admin('/admin/users', { name: 'buyer', points })).userId as number

  /** What exists for a user: orders, their items, their order-created records, the cart. */
  async function footprint(userId: number) {
    const orders = await api.db
      .selectFrom('orders')
      .selectAll()
      .where('user_id', '=', String(userId))
      .execute()
    const ids = orders.map((o) => o.id)
    const items = ids.length
      ? await api.db
          .selectFrom('order_items')
          .selectAll()
          .where('order_id', 'in', ids)
          .orderBy('product_id')
          .execute()
      : []
    const records = ids.length
      ? await api.db
          .selectFrom('outbox')
          .selectAll()
          .where('topic', '=', 'order-created-topic')
          .where(
            'key',
            'in',
            ids.map((id) => Buffer.from(id)),
          )
          .execute()
      : []
    const cart = await api.db
      .selectFrom('cart_items')
      .select(['product_id', 'quantity'])
      .where('user_id', '=', String(userId))
      .orderBy('product_id')
      .execute()
    return { orders, items, records, cart }
  }

  return { ...fixture, order, putCart, userWith, footprint }
}
