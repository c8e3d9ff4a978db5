/**
 * The HTTP transport. `buildApp` only wires routes to what it is given; it opens no connection and
 * listens on no port, so tests build it with whatever dependencies they want.
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { Kysely } from 'kysely'
import { InternalTopics, internalTopic } from '../processors/topics.ts'
import { defaults } from '../service/config.ts'
import type { Health } from '../service/health.ts'
import type { ServiceMetrics } from '../service/metrics.ts'
import type { IssueQueueOptions } from '../state/coupon-requests.ts'
import type { SalesRanking } from '../state/ranking.ts'
import type { Database } from '../state/schema.ts'
import { installAccessLog } from './access-log.ts'
import { requireBearer } from './auth.ts'
import { installErrorHandlers } from './errors.ts'
import { installHttpMetrics } from './http-metrics.ts'
import { adminCouponRoutes } from './routes/admin-coupons.ts'
import { adminProductRoutes } from './routes/admin-products.ts'
import { adminUserRoutes } from './routes/admin-users.ts'
import { cartRoutes } from './routes/carts.ts'
import { couponRoutes } from './routes/coupons.ts'
import { healthRoutes } from './routes/health.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { orderRoutes } from './routes/orders.ts'
import { productRoutes } from './routes/products.ts'
import { productsTopRoutes } from './routes/products-top.ts'
import { type TopologyRouteOptions, topologyRoutes } from './routes/topology.ts'
import { userRoutes } from './routes/users.ts'
import { textGuard } from './text-guard.ts'
import { installValidation } from './validation.ts'

export interface ShopOptions {
  db: Kysely<Database>
  /** Enables the /admin routes, each requiring `Authorization: Bearer <adminToken>`. */
  adminToken?: string
  /** Called after an issue request, an order or a point charge commits (the outbox relay's nudge). */
  onEnqueued?: () => void
  /** How concurrent coupon issue requests share statements; `onBatch` can feed a metric. */
  issueQueue?: IssueQueueOptions
  /** Where orders go: `order-created-topic` with the deployment's prefix (default: the contract's name). */
  orderTopic?: string
  /**
   * Where point charges go: the user owner's `<applicationId>-user-commands` (default: the default
   * application id's).
   */
  userCommandsTopic?: string
  /** Serves `GET /products/top` from this Redis view. */
  ranking?: SalesRanking
}

export interface AppOptions {
  logger: FastifyBaseLogger
  health: Health
  metrics: ServiceMetrics
  /** The shop and admin API; absent, only the operations routes are served. */
  shop?: ShopOptions
  /** Serves `GET /topology`. */
  topology?: TopologyRouteOptions
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const guard = textGuard()
  const app = Fastify({
    loggerInstance: opts.logger,
    // One debug line per request instead (api/access-log.ts): two info lines each cost half a core.
    // (Through a LogController: the top-level `disableRequestLogging` is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
    ...guard.serverOptions,
    routerOptions: {
      ...guard.serverOptions.routerOptions,
      // The schemas set each parameter's real limit and name the field when it is exceeded; the
      // router's default (100) was below requestId's 200 and answered its own 414 for valid ids.
      maxParamLength: 1_000,
    },
  })
  guard.install(app)
  installValidation(app)
  installErrorHandlers(app)
  installHttpMetrics(app, opts.metrics.registry)
  installAccessLog(app)
  await app.register(swagger, {
    openapi: {
      info: { title: 'commerce-streams', version: '0.1.0', description: 'Shop, admin and operations API' },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(healthRoutes, { health: opts.health })
  await app.register(metricsRoutes, { registry: opts.metrics.registry })
  if (opts.topology) await app.register(topologyRoutes, opts.topology)
  if (opts.shop) await registerShop(app, opts.shop, opts.metrics)
  return app
}

async function registerShop(
  app: FastifyInstance,
  { db, adminToken, onEnqueued, issueQueue, orderTopic, userCommandsTopic, ranking }: ShopOptions,
  metrics: ServiceMetrics,
): Promise<void> {
  await app.register(userRoutes, { db })
  const onRefused = () => metrics.issueQueueRefused.inc()
  await app.register(couponRoutes, { db, onEnqueued, issueQueue: { ...issueQueue, onRefused } })
  await app.register(productRoutes, { db })
  await app.register(cartRoutes, { db })
  await app.register(orderRoutes, { db, orderTopic, onEnqueued })
  if (ranking) await app.register(productsTopRoutes, { db, ranking })
  if (!adminToken) return
  const charges = userCommandsTopic ?? internalTopic(defaults.APPLICATION_ID, InternalTopics.USER_COMMANDS)
  // An encapsulated context: the bearer hook guards the admin routes and nothing else.
  await app.register(async (admin) => {
    requireBearer(admin, adminToken)
    await admin.register(adminUserRoutes, { db, userCommandsTopic: charges, onEnqueued })
    await admin.register(adminCouponRoutes, { db })
    await admin.register(adminProductRoutes, { db })
  })
}
