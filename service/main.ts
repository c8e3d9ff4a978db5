/**
 * Starts one instance: loads the configuration (refusing to start on a bad value), serves HTTP at once
 * so liveness and readiness answer while dependencies come up, and stops gracefully on SIGTERM.
 */
import { flushCompileCache } from 'node:module'
import { buildApp } from '../api/app.ts'
import { InternalTopics, internalTopic } from '../processors/topics.ts'
import { createBusinessMetrics } from './business-metrics.ts'
import { type Config, loadConfig } from './config.ts'
import { isCommerceError } from './errors.ts'
import { openInfrastructure } from './infrastructure.ts'
import { createLogger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { openProcessing } from './processing.ts'
import { openRanking } from './ranking.ts'

/**
 * `node service/main.ts --warm-compile-cache` loads the service's modules and exits without starting
 * it, leaving them in Node's compile cache (NODE_COMPILE_CACHE, set wherever the service starts): the
 * Dockerfile's build step and the edge benchmark run it, so the service starts from stripped
 * JavaScript and V8's compiled code, with no TypeScript stripping (amaro's WebAssembly: ~17 MB of RSS
 * for the life of the process) and less start-up work.
 */
const WARM_COMPILE_CACHE = '--warm-compile-cache'

/** The contract gives SIGTERM 10 s; we force our way out a little before that. */
const SHUTDOWN_DEADLINE_MS = 9_000

function configOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (!isCommerceError(error, 'CONFIG_INVALID')) throw error
    process.stderr.write(`commerce-streams: ${error.message}\n`)
    // 78 is EX_CONFIG: supervisors can tell a configuration error from a crash.
    process.exit(78)
  }
}

async function main(): Promise<void> {
  const config = configOrExit()
  const log = createLogger(config.logLevel)
  const metrics = createMetrics()
  const infra = openInfrastructure(config, metrics, log)
  const processing = openProcessing(config, infra, metrics, log)
  const ranking = openRanking(config, infra, createBusinessMetrics(metrics.registry, infra.db), log)
  const app = await buildApp({
    logger: log,
    health: infra.health,
    metrics,
    shop:
      config.role === 'processors'
        ? undefined
        : {
            db: infra.db,
            adminToken: config.adminToken,
            onEnqueued: () => processing.relay.nudge(),
            issueQueue: { topic: processing.topics.COUPON_ISSUE, maxWaiting: config.issueQueueMaxWaiting },
            orderTopic: processing.topics.ORDER_CREATED,
            userCommandsTopic: internalTopic(config.applicationId, InternalTopics.USER_COMMANDS),
            ranking: ranking.ranking,
          },
    topology: {
      topology: processing.topology,
      status: processing.runtime ? () => processing.runtime!.status() : undefined,
    },
  })
  // In order: finish and commit in-flight batches, publish what is committed, then close connections.
  app.addHook('onClose', async () => {
    await Promise.all([processing.stop(), ranking.stop()])
    await infra.close()
  })
  let stopping = false
  /** Drains and exits with `code`: 0 for a signal, 1 when the processors could not start. */
  const shutdown = (reason: string, code = 0) => {
    if (stopping) return
    stopping = true
    log.info({ reason }, 'shutting down')
    const deadline = setTimeout(() => {
      log.error({ reason }, `shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms, exiting`)
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS)
    deadline.unref()
    app.close().then(
      () => process.exit(code),
      (error) => {
        log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  processing.started.catch((error) => {
    // Besides a shutdown during start-up, only a topology the broker cannot satisfy (a source topic
    // gone, sources not co-partitioned) gets here: retrying cannot fix it, so stop and say so.
    if (stopping) return
    log.fatal({ error: String(error) }, 'processing could not start')
    shutdown('processing could not start', 1)
  })

  await app.listen({ port: config.port, host: config.host })
  infra.started.then(
    () => log.info({ role: config.role }, 'dependencies ready'),
    () => {},
  )
}

if (process.argv.includes(WARM_COMPILE_CACHE)) {
  // Every module is loaded by now (the imports above): write them to NODE_COMPILE_CACHE and exit.
  flushCompileCache()
} else {
  main().catch((error) => {
    process.stderr.write(
      `commerce-streams: failed to start: ${error instanceof Error ? error.stack : error}\n`,
    )
    process.exit(1)
  })
}
