/**
 * The seed's coupon consumer (kafka-event-architecture.ko.md section 1), as faithfully as it goes on
 * this stack: a @KafkaListener with concurrency 3 (one consumer thread per partition, its section 3.2)
 * whose `executeIssueCoupon` runs ONE database transaction per message — re-read the coupon, check the
 * user, check availability, check for a duplicate, insert the user coupon, bump `issued_quantity` under
 * an optimistic lock (`version`; 0 rows updated → the whole transaction is retried) — then commits the
 * message's offset (AckMode.RECORD), before the next message of its partition.
 *
 * The consumer is the same @platformatic/kafka client ours uses, through its own subscription path
 * (MessagesStream, group join included), as Spring's container uses KafkaConsumer.poll(): one stream
 * for the 3 partitions, each partition's messages handed in order to a worker of its own, so 3
 * transactions run at once as 3 listener threads would (harness/listeners.ts). Statements are named prepared statements (as the
 * PostgreSQL JDBC driver prepares a statement it runs repeatedly) over plain `pg`, without an ORM: if
 * anything this favours the seed, whose JPA issues at least as many statements.
 */
import { performance } from 'node:perf_hooks'
import { MessagesStreamModes } from '@platformatic/kafka'
import pg from 'pg'
import type { PhaseBase } from '../harness/infra.ts'
import { listenPerPartition, seedConsumer } from '../harness/listeners.ts'
import { type PhaseMeasures, PhaseMeter, quantile, type Rate } from '../harness/measure.ts'
import { childPhase } from '../harness/phase.ts'
import type { IssueRequest } from './sale.ts'

export interface SeedConfig extends PhaseBase {
  group: string
  /** The topic read, and its end offset per partition (decimal strings: JSON has no bigint). */
  input: string
  ends: string[]
  total: number
}

export interface SeedResult extends PhaseMeasures {
  committed: Rate
  transactions: number
  /** Optimistic-lock failures (0 rows updated), each followed by a retry of the whole transaction. */
  retries: number
  txP50Ms: number
  txP99Ms: number
  txMeanMs: number
  /** Transactions that issued a coupon (insert + versioned update), and the mean of each kind. */
  issued: number
  issuedTxMeanMs: number
  rejectedTxMeanMs: number
  offsetCommitMeanMs: number
}

class OptimisticLockError extends Error {}

const statement = (name: string, text: string) => (values: unknown[]) => ({ name, text, values })
const q = {
  coupon: statement(
    'seed-coupon',
    'select id, total_quantity, issued_quantity, version, expires_at from seed_coupons where id = $1',
  ),
  user: statement('seed-user', 'select id from users where id = $1'),
  held: statement('seed-held', 'select id from seed_user_coupons where user_id = $1 and coupon_id = $2'),
  issue: statement(
    'seed-issue',
    'insert into seed_user_coupons (user_id, coupon_id, issued_at) values ($1, $2, now()) returning id',
  ),
  bump: statement(
    'seed-bump',
    `update seed_coupons set issued_quantity = issued_quantity + 1, version = version + 1
     where id = $1 and version = $2`,
  ),
  outcome: statement(
    'seed-outcome',
    `insert into seed_coupon_issue_requests
       (request_id, coupon_id, user_id, status, reason, user_coupon_id, decided_at)
     values ($1, $2, $3, $4, $5, $6, now())`,
  ),
}

/**
 * executeIssueCoupon: the body of one transaction; true when it issued. Throws OptimisticLockError
 * when `version` moved.
 */
async function executeIssueCoupon(c: pg.PoolClient, r: IssueRequest): Promise<boolean> {
  const coupon = (await c.query(q.coupon([r.couponId]))).rows[0] as
    | { total_quantity: number; issued_quantity: number; version: string; expires_at: Date | null }
    | undefined
  let reason: string | null = null
  let userCouponId: string | null = null
  if (!coupon) reason = 'COUPON_NOT_FOUND'
  else if ((await c.query(q.user([r.userId]))).rowCount === 0) reason = 'USER_NOT_FOUND'
  else if (coupon.expires_at !== null && coupon.expires_at.getTime() <= Date.now()) reason = 'COUPON_EXPIRED'
  else if (coupon.issued_quantity >= coupon.total_quantity) reason = 'SOLD_OUT'
  else if ((await c.query(q.held([r.userId, r.couponId]))).rowCount! > 0) reason = 'ALREADY_ISSUED'
  else {
    // JPA flushes the new UserCoupon (insert) before the dirty Coupon (versioned update).
    userCouponId = (await c.query(q.issue([r.userId, r.couponId]))).rows[0].id as string
    const bumped = await c.query(q.bump([r.couponId, coupon.version]))
    if (bumped.rowCount === 0) throw new OptimisticLockError(`coupon ${r.couponId}: version moved`)
  }
  await c.query(
    q.outcome([
      r.requestId,
      r.couponId,
      r.userId,
      reason === null ? 'ISSUED' : 'REJECTED',
      reason,
      userCouponId,
    ]),
  )
  return reason === null
}

export const seedStyle = childPhase(import.meta.url, 'seedStyle', runSeed)

async function runSeed(config: SeedConfig): Promise<SeedResult> {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.ends.length })
  pool.on('error', () => {})
  const consumer = seedConsumer(config)
  const ends = config.ends.map(Number)
  const txMs: number[] = []
  let issuedMs = 0
  let issued = 0
  let retries = 0
  const meter = new PhaseMeter(ends, config.database)
  try {
    const stream = await consumer.consume({ topics: [config.input], mode: MessagesStreamModes.EARLIEST })
    meter.started()
    // One listener thread per partition: one transaction (retried on an optimistic-lock conflict) each.
    const { handled, offsetCommitMs } = await listenPerPartition(
      stream,
      { ends, total: config.total, meter },
      async (message) => {
        const request = JSON.parse((message.value as Buffer).toString('utf8')) as IssueRequest
        const t0 = performance.now()
        let issuing = false
        for (let attempt = 1; ; attempt++) {
          const client = await pool.connect()
          try {
            await client.query('begin')
            issuing = await executeIssueCoupon(client, request)
            await client.query('commit')
            break
          } catch (error) {
            await client.query('rollback').catch(() => {})
            if (!(error instanceof OptimisticLockError) || attempt >= 10) throw error
            retries++
          } finally {
            client.release()
          }
        }
        const t1 = performance.now()
        txMs.push(t1 - t0)
        if (issuing) {
          issued++
          issuedMs += t1 - t0
        }
      },
    )
    const committed = { records: handled, seconds: meter.seconds() }
    const measures = meter.stop(config.total)
    await stream.close().catch(() => {})
    const txSum = txMs.reduce((s, t) => s + t, 0)
    return {
      ...measures,
      committed,
      transactions: txMs.length,
      retries,
      txP50Ms: quantile(txMs, 0.5),
      txP99Ms: quantile(txMs, 0.99),
      txMeanMs: txSum / Math.max(1, txMs.length),
      issued,
      issuedTxMeanMs: issuedMs / Math.max(1, issued),
      rejectedTxMeanMs: (txSum - issuedMs) / Math.max(1, txMs.length - issued),
      offsetCommitMeanMs: offsetCommitMs / Math.max(1, handled),
    }
  } finally {
    meter.close()
    await consumer.close(true).catch(() => {})
    await pool.end().catch(() => {})
  }
}
