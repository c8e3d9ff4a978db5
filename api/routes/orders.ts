/** Shop routes for orders: place one (the saga decides it), read one, list a user's. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { OrderFailureReason } from '../../processors/order-messages.ts'
import { CommerceError } from '../../service/errors.ts'
import { MAX_LINES } from '../../state/order-checks.ts'
import { placeOrder } from '../../state/order-placement.ts'
import { findOrder, listUserOrders, type Order as OrderRow } from '../../state/orders.ts'
import type { Database } from '../../state/schema.ts'
import { findUser } from '../../state/users.ts'
import {
  Amount,
  EntityId,
  errorResponses,
  Nullable,
  OrderIdParams,
  Quantity,
  Timestamp,
  UserIdParams,
} from '../schemas.ts'

export interface OrderRouteOptions {
  db: Kysely<Database>
  /** `order-created-topic`, with the deployment's topic prefix. */
  orderTopic?: string | undefined
  /** Called after an order commits: the outbox relay's nudge. */
  onEnqueued?: (() => void) | undefined
}

const Amounts = { totalAmount: Amount, discountAmount: Amount, finalAmount: Amount }

const Order = Type.Object({
  orderId: EntityId,
  userId: EntityId,
  status: Type.Enum(['PENDING', 'COMPLETED', 'FAILED'], { type: 'string' }),
  failureReason: Type.Optional(OrderFailureReason),
  items: Type.Array(
    Type.Object({ productId: EntityId, name: Type.String(), price: Amount, quantity: Quantity }),
  ),
  ...Amounts,
  userCouponId: Nullable(EntityId),
  createdAt: Timestamp,
  completedAt: Type.Optional(Timestamp),
})

const placeSchema = {
  tags: ['shop'],
  summary: 'Place an order; the order saga completes or fails it',
  description:
    'Without items, the cart is ordered and the lines ordered are removed from it. Lines naming one ' +
    'product twice are summed. Refusals come in the order the checks run: user, items, products, stock, ' +
    'coupon, points. They are a courtesy: the saga stays the authority, and follows the order at ' +
    '/orders/{orderId}.',
  body: Type.Object({
    userId: EntityId,
    userCouponId: Type.Optional(Nullable(EntityId)),
    items: Type.Optional(
      Type.Array(Type.Object({ productId: EntityId, quantity: Quantity }), { maxItems: MAX_LINES }),
    ),
  }),
  response: {
    202: Type.Object({ orderId: EntityId, status: Type.Literal('PENDING'), ...Amounts }),
    ...errorResponses({
      400: 'VALIDATION_FAILED or EMPTY_ORDER',
      404: 'USER_NOT_FOUND or PRODUCT_NOT_FOUND',
      409: 'INSUFFICIENT_STOCK, COUPON_NOT_USABLE (the message says why) or INSUFFICIENT_POINTS',
    }),
  },
}

const getSchema = {
  tags: ['shop'],
  summary: 'An order, its items as priced when ordered, and where the saga left it',
  params: OrderIdParams,
  response: { 200: Order, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'ORDER_NOT_FOUND' }) },
}

const listSchema = {
  tags: ['shop'],
  summary: "A user's orders, newest first",
  description: 'At most `limit` orders; the next page is the orders `before` the last orderId of this one.',
  params: UserIdParams,
  querystring: Type.Object({
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    before: Type.Optional(EntityId),
  }),
  response: {
    200: Type.Array(Order),
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'USER_NOT_FOUND' }),
  },
}

/** Optional fields are left out rather than sent as null, as the contract writes them. */
const toResponse = ({ failureReason, completedAt, ...order }: OrderRow) => ({
  ...order,
  ...(failureReason !== null ? { failureReason: failureReason as OrderFailureReason } : {}),
  ...(completedAt !== null ? { completedAt } : {}),
})

export function orderRoutes(instance: FastifyInstance, opts: OrderRouteOptions): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { db } = opts

  app.post('/orders', { schema: placeSchema }, async (request, reply) => {
    const { userId, userCouponId, items } = request.body
    const placed = await placeOrder(db, {
      userId,
      userCouponId,
      items,
      now: new Date(),
      topic: opts.orderTopic,
    })
    if (placed.status === 'REFUSED') throw new CommerceError(placed.code, placed.message)
    opts.onEnqueued?.()
    const { status: _placed, ...order } = placed
    return reply.status(202).send({ ...order, status: 'PENDING' as const })
  })

  app.get('/orders/:orderId', { schema: getSchema }, async (request) => {
    const order = await findOrder(db, request.params.orderId)
    if (!order) throw new CommerceError('ORDER_NOT_FOUND', `no order ${request.params.orderId}`)
    return toResponse(order)
  })

  app.get('/users/:userId/orders', { schema: listSchema }, async (request) => {
    const { userId } = request.params
    const [user, orders] = await Promise.all([
      findUser(db, userId),
      listUserOrders(db, { userId, ...request.query }),
    ])
    if (!user) throw new CommerceError('USER_NOT_FOUND', `no user ${userId}`)
    return orders.map(toResponse)
  })
}
