/** Shop routes for coupons: read one, request one (first come, first served), follow a request. */
import type { FastifyInstance } from 'fastify'
import type { Kysely } from 'kysely'
import { CommerceError } from '../../service/errors.ts'
import { findIssueRequest, type IssueQueueOptions, issueRequestQueue } from '../../state/coupon-requests.ts'
import { findCoupon } from '../../state/coupons.ts'
import type { Database } from '../../state/schema.ts'
import { couponIdParams, couponSchema, errorResponses, idSchema } from '../schemas.ts'

export interface CouponRouteOptions {
  db: Kysely<Database>
  /** Called after an accepted request commits: the outbox relay's nudge. */
  onEnqueued?: (() => void) | undefined
  /** How issue requests are coalesced into statements (defaults suit the service). */
  issueQueue?: IssueQueueOptions | undefined
}

const getCouponSchema = {
  tags: ['shop'],
  summary: 'A coupon and how many units remain',
  params: couponIdParams,
  response: { 200: couponSchema, ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'COUPON_NOT_FOUND' }) },
} as const

const issueSchema = {
  tags: ['shop'],
  summary: 'Request a coupon; the coupon processor decides, first come, first served',
  description:
    'Accepted requests are PENDING: follow them at /coupons/{couponId}/requests/{requestId}. The checks ' +
    'here are a courtesy; the processor stays the authority (it also rejects SOLD_OUT).',
  params: couponIdParams,
  body: { type: 'object', required: ['userId'], properties: { userId: idSchema } },
  response: {
    202: {
      type: 'object',
      required: ['requestId', 'status'],
      properties: { requestId: { type: 'string' }, status: { type: 'string', enum: ['PENDING'] } },
    },
    ...errorResponses({
      400: 'VALIDATION_FAILED',
      404: 'USER_NOT_FOUND or COUPON_NOT_FOUND',
      409: 'COUPON_ALREADY_ISSUED',
      410: 'COUPON_EXPIRED',
      503: 'OVERLOADED (too many requests waiting; see the Retry-After header) or DEPENDENCY_UNAVAILABLE',
    }),
  },
} as const

const getRequestSchema = {
  tags: ['shop'],
  summary: 'The state of a coupon issue request',
  params: {
    type: 'object',
    required: ['couponId', 'requestId'],
    properties: {
      couponId: idSchema,
      // Not only UUIDs: requests produced straight to the topic carry their own ids, or derived ones.
      requestId: { type: 'string', minLength: 1, maxLength: 200 },
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['requestId', 'couponId', 'userId', 'status'],
      properties: {
        requestId: { type: 'string' },
        couponId: idSchema,
        userId: idSchema,
        status: { type: 'string', enum: ['PENDING', 'ISSUED', 'REJECTED'] },
        reason: {
          type: 'string',
          enum: ['SOLD_OUT', 'ALREADY_ISSUED', 'COUPON_EXPIRED', 'COUPON_NOT_FOUND', 'USER_NOT_FOUND'],
        },
        userCouponId: idSchema,
      },
    },
    ...errorResponses({ 400: 'VALIDATION_FAILED', 404: 'REQUEST_NOT_FOUND' }),
  },
} as const

const refusalMessages = {
  USER_NOT_FOUND: 'no such user',
  COUPON_NOT_FOUND: 'no such coupon',
  COUPON_EXPIRED: 'the coupon has expired',
  COUPON_ALREADY_ISSUED: 'the user already holds this coupon',
} as const

export function couponRoutes(app: FastifyInstance, opts: CouponRouteOptions): void {
  const issueQueue = issueRequestQueue(opts.db, opts.issueQueue)

  app.get<{ Params: { couponId: number } }>(
    '/coupons/:couponId',
    { schema: getCouponSchema },
    async (request) => {
      const coupon = await findCoupon(opts.db, request.params.couponId)
      if (!coupon) throw new CommerceError('COUPON_NOT_FOUND', `no coupon ${request.params.couponId}`)
      return coupon
    },
  )

  // The flash-sale hot path: concurrent requests share statements (see issueRequestQueue).
  app.post<{ Params: { couponId: number }; Body: { userId: number } }>(
    '/coupons/:couponId/issue',
    { schema: issueSchema },
    async (request, reply) => {
      const { couponId } = request.params
      const { userId } = request.body
      const result = await issueQueue.enqueue({ couponId, userId, now: new Date() })
      if (result.status === 'REFUSED') {
        const message = `${refusalMessages[result.reason]} (coupon ${couponId}, user ${userId})`
        throw new CommerceError(result.reason, message)
      }
      opts.onEnqueued?.()
      return reply.status(202).send({ requestId: result.requestId, status: 'PENDING' })
    },
  )

  app.get<{ Params: { couponId: number; requestId: string } }>(
    '/coupons/:couponId/requests/:requestId',
    { schema: getRequestSchema },
    async (request) => {
      const found = await findIssueRequest(opts.db, request.params)
      if (!found) {
        const { couponId, requestId } = request.params
        throw new CommerceError('REQUEST_NOT_FOUND', `no request ${requestId} for coupon ${couponId}`)
      }
      const { reason, userCouponId, ...rest } = found
      return {
        ...rest,
        ...(reason !== null ? { reason } : {}),
        ...(userCouponId !== null ? { userCouponId } : {}),
      }
    },
  )
}
