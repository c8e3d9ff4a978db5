/** Shop routes for a user's cart: read it, set a product's quantity (0 removes), remove a product. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { CommerceError } from '../../service/errors.ts'
import { getCart, setCartQuantity } from '../../state/carts.ts'
import { MAX_LINE_QUANTITY } from '../../state/order-checks.ts'
import type { Database } from '../../state/schema.ts'
import { findUser } from '../../state/users.ts'
import { Amount, EntityId, errorResponses, Quantity, UserIdParams } from '../schemas.ts'

const Cart = Type.Object({
  items: Type.Array(
    Type.Object({ productId: EntityId, name: Type.String(), price: Amount, quantity: Quantity }),
  ),
  /** At today's prices: an order made from the cart is priced when it is placed. */
  totalAmount: Amount,
})

const CartLineParams = Type.Object({ userId: EntityId, productId: EntityId })

const getSchema = {
  tags: ['shop'],
  summary: "A user's cart at today's prices, in product id order",
  params: UserIdParams,
  response: { 200: Cart, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND' }) },
}

const putSchema = {
  tags: ['shop'],
  summary: 'Set how many units of a product are in the cart; 0 removes the product. Answers the cart',
  params: CartLineParams,
  body: Type.Object({ quantity: Type.Integer({ minimum: 0, maximum: MAX_LINE_QUANTITY }) }),
  response: {
    200: Cart,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND or PRODUCT_NOT_FOUND' }),
  },
}

const deleteSchema = {
  tags: ['shop'],
  summary: 'Remove a product from the cart (nothing to remove is fine). Answers the cart',
  params: CartLineParams,
  response: {
    200: Cart,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND or PRODUCT_NOT_FOUND' }),
  },
}

export function cartRoutes(instance: FastifyInstance, opts: { db: Kysely<Database> }): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { db } = opts

  app.get('/users/:userId/carts', { schema: getSchema }, async (request) => {
    const { userId } = request.params
    const [user, cart] = await Promise.all([findUser(db, userId), getCart(db, userId)])
    if (!user) throw new CommerceError('USER_NOT_FOUND', `no user ${userId}`)
    return cart
  })

  const change = async (userId: number, productId: number, quantity: number) => {
    const result = await setCartQuantity(db, { userId, productId, quantity })
    if (result === 'USER_NOT_FOUND') throw new CommerceError('USER_NOT_FOUND', `no user ${userId}`)
    if (result === 'PRODUCT_NOT_FOUND')
      throw new CommerceError('PRODUCT_NOT_FOUND', `no product ${productId}`)
    return getCart(db, userId)
  }

  app.put('/users/:userId/carts/:productId', { schema: putSchema }, async (request) =>
    change(request.params.userId, request.params.productId, request.body.quantity),
  )

  app.delete('/users/:userId/carts/:productId', { schema: deleteSchema }, async (request) =>
    change(request.params.userId, request.params.productId, 0),
  )
}
