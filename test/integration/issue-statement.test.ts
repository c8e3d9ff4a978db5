/**
 * The API's issue statement (state/coupon-requests.ts): the record it builds in SQL is the one Node
 * would write, byte for byte, and its checks stay per-request key probes at any batch size — written
 * as `exists`, PostgreSQL hashed the whole users table once a batch reached a few hundred requests.
 */
import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACCEPTED_BY_API, ShopHeaders } from '../../processors/shop-headers.ts'
import { enqueueIssueRequests, issueStatement } from '../../state/coupon-requests.ts'
import type { Database } from '../../state/schema.ts'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { encodeHeaders } from '../../topology/runtime/header-codec.ts'
import { useInfra } from '../support/infra.ts'
import { type PlanNode, planNodes } from '../support/query-plans.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const USERS = 100_000
const COUPONS = 100
let db: Kysely<Database>

beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
  await sql`insert into users (id, name) select g, 'user-' || g from generate_series(1, ${USERS}::int) g`.execute(
    db,
  )
  await sql`insert into coupons (id, name, discount_type, discount_value, total_quantity)
    select g, 'coupon-' || g, 'AMOUNT', 1000, 10 from generate_series(1, ${COUPONS}::int) g`.execute(db)
  await sql`analyze`.execute(db)
})

afterAll(() => db?.destroy())

describe('the issue statement', () => {
  it('should write each accepted request the record Node would: the same JSON and headers, byte for byte', async () => {
    const now = new Date('2026-12-02T10:11:12.345Z')
    const inputs = [
      { couponId: 7, userId: 42, now },
      { couponId: 7, userId: USERS + 1, now }, // no such user: refused, no record
      { couponId: 99, userId: 1, now: new Date(now.getTime() + 1) },
    ]
    const results = await enqueueIssueRequests(db, inputs, 'coupon-issue-topic')
    expect(results.map((r) => r.status)).toEqual(['PENDING', 'REFUSED', 'PENDING'])
    const accepted = [0, 2].map((i) => ({
      ...inputs[i]!,
      requestId: (results[i] as { requestId: string }).requestId,
    }))
    const records = await pendingOutputs(db)
    expect(records).toEqual(
      accepted.map(({ couponId, userId, now, requestId }) => ({
        topic: 'coupon-issue-topic',
        key: Buffer.from(String(couponId)),
        value: Buffer.from(JSON.stringify({ requestId, userId, couponId, requestedAt: now.toISOString() })),
        headers: encodeHeaders({
          [ShopHeaders.OUTPUT_ID]: `api/${requestId}`,
          [ShopHeaders.ACCEPTED_BY]: ACCEPTED_BY_API,
        }),
      })),
    )
  })

  it('should probe users by primary key for a batch of 500 against 100,000 users, never scan the table', async () => {
    const inputs = Array.from({ length: 500 }, (_, i) => ({
      couponId: 1 + (i % COUPONS),
      userId: 1 + ((i * 197) % USERS),
      now: new Date(),
    }))
    const ids = inputs.map(() => randomUUID())
    // Without ANALYZE nothing runs: the plan PostgreSQL would execute, inserts included.
    const { rows } = await sql<{
      'QUERY PLAN': Array<{ Plan: PlanNode }>
    }>`explain (format json) ${issueStatement(ids, inputs, 'coupon-issue-topic')}`.execute(db)
    const reads = planNodes(rows[0]!['QUERY PLAN'][0]!.Plan).filter((n) => n['Relation Name'] === 'users')
    expect(reads.length).toBeGreaterThan(0)
    expect(reads.map((n) => n['Node Type'])).toEqual(
      reads.map(() => expect.stringMatching(/^Index (Only )?Scan$/)),
    )
  })
})
