/** Shop routes for coupons: read one, request one (first come, first served), follow a request. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { RejectReason } from '../../processors/coupon-issuer.ts'
import { RequestId } from '../../processors/fields.ts'
import { CommerceError } from '../../service/errors.ts'
import {
  findIssueRequest,
  type IssueQueueOptions,
  type IssueRequest,
  issueRequestQueue,
} from '../../state/coupon-requests.ts'
import { findCoupon } from '../../state/coupons.ts'
import { DecisionWatch, type DecisionWatchOptions } from '../../state/decision-watch.ts'
import type { Database } from '../../state/schema.ts'
import { Coupon, CouponIdParams, EntityId, errorResponses } from '../schemas.ts'

export interface CouponRouteOptions {
  db: Kysely<Database>
  /** How long `?waitMs` waits are polled for (defaults suit the service). */
  decisions?: DecisionWatchOptions | undefined
  /** Called after an accepted request commits: the outbox relay's nudge. */
  onEnqueued?: (() => void) | undefined
  /** How issue requests are coalesced into statements (defaults suit the service). */
  issueQueue?: IssueQueueOptions | undefined
}

const getCouponSchema = {
  tags: ['shop'],
  summary: 'A coupon and how many units remain',
  params: CouponIdParams,
  response: { 200: Coupon, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'COUPON_NOT_FOUND' }) },
}

/** A request as the API shows it: the decision's fields only once there is one. */
const IssueRequestView = Type.Object({
  requestId: Type.String(),
  couponId: EntityId,
  userId: EntityId,
  status: Type.Enum(['PENDING', 'ISSUED', 'REJECTED'], { type: 'string' }),
  reason: Type.Optional(RejectReason),
  userCouponId: Type.Optional(EntityId),
})

const view = ({ reason, userCouponId, ...rest }: IssueRequest) => ({
  ...rest,
  ...(reason !== null ? { reason } : {}),
  ...(userCouponId !== null ? { userCouponId } : {}),
})

const issueSchema = {
  tags: ['shop'],
  summary: 'Request a coupon; the coupon processor decides, first come, first served',
  description:
    'Accepted requests are PENDING: follow them at /coupons/{couponId}/requests/{requestId}. The checks ' +
    'here are a courtesy; the processor stays the authority (it also rejects SOLD_OUT).',
  params: CouponIdParams,
  querystring: Type.Object({
    waitMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 5000,
        description: 'Wait up to this long for the decision: 200 with it if it comes in time, else 202',
      }),
    ),
  }),
  body: Type.Object({ userId: EntityId }),
  response: {
    200: IssueRequestView,
    202: Type.Object({ requestId: Type.String(), status: Type.Literal('PENDING') }),
    ...errorResponses({
      400: 'VALIDATION_FAILED',
      404: 'USER_NOT_FOUND or COUPON_NOT_FOUND',
      409: 'COUPON_ALREADY_ISSUED',
      410: 'COUPON_EXPIRED',
      503: 'OVERLOADED (too many requests waiting; see the Retry-After header) or DEPENDENCY_UNAVAILABLE',
    }),
  },
}

const getRequestSchema = {
  tags: ['shop'],
  summary: 'The state of a coupon issue request',
  params: Type.Object({ couponId: EntityId, requestId: RequestId }),
  response: {
    200: IssueRequestView,
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'REQUEST_NOT_FOUND' }),
  },
}

const refusalMessages = {
  USER_NOT_FOUND: 'no such user',
  COUPON_NOT_FOUND: 'no such coupon',
  COUPON_EXPIRED: 'the coupon has expired',
  COUPON_ALREADY_ISSUED: 'the user already holds this coupon',
} as const

export function couponRoutes(instance: FastifyInstance, opts: CouponRouteOptions): void {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const issueQueue = issueRequestQueue(opts.db, opts.issueQueue)
  const decisions = new DecisionWatch(opts.db, opts.decisions)
  instance.addHook('onClose', async () => decisions.close())

  app.get('/coupons/:couponId', { schema: getCouponSchema }, async (request) => {
    const coupon = await findCoupon(opts.db, request.params.couponId)
    if (!coupon) throw new CommerceError('COUPON_NOT_FOUND', `no coupon ${request.params.couponId}`)
    return coupon
  })

  // The flash-sale hot path: concurrent requests share statements (see issueRequestQueue).
  app.post('/coupons/:couponId/issue', { schema: issueSchema }, async (request, reply) => {
    const { couponId } = request.params
    const { userId } = request.body
    const result = await issueQueue.enqueue({ couponId, userId, now: new Date() })
    if (result.status === 'REFUSED') {
      const message = `${refusalMessages[result.reason]} (coupon ${couponId}, user ${userId})`
      throw new CommerceError(result.reason, message)
    }
    opts.onEnqueued?.()
    const decided = await decisions.wait(result.requestId, request.query.waitMs ?? 0)
    if (decided) return reply.status(200).send(view(decided))
    return reply.status(202).send({ requestId: result.requestId, status: 'PENDING' })
  })

  app.get('/coupons/:couponId/requests/:requestId', { schema: getRequestSchema }, async (request) => {
    const found = await findIssueRequest(opts.db, request.params)
    if (!found) {
      const { couponId, requestId } = request.params
      throw new CommerceError('REQUEST_NOT_FOUND', `no request ${requestId} for coupon ${couponId}`)
    }
    return view(found)
  })
}
