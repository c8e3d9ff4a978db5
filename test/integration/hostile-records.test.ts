/**
 * Property: whatever bytes a producer sends, every record ends as a decision, a business rejection or
 * a DLQ record, the committed offset moves past all of them, and good records after them are decided.
 * Generated keys and values — arbitrary bytes, hostile JSON strings (NUL, lone surrogates, control
 * characters), huge and deeply nested values, requests with hostile fields — go through the coupon
 * processor and the real PostgreSQL backend.
 */
import fc from 'fast-check'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shopTopology } from '../../processors/shop-topology.ts'
import { Topics } from '../../processors/topics.ts'
import type { Database } from '../../state/schema.ts'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import type { RawRecord } from '../../topology/record.ts'
import { headersAsText } from '../../topology/runtime/header-codec.ts'
import { PartitionTask } from '../../topology/runtime/task.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let db: Kysely<Database>
beforeAll(async () => {
  db = await migratedDb(infra.databaseUrl)
  await sql`insert into users (id, name) select g, 'u' || g from generate_series(1, 5) g`.execute(db)
  await sql`insert into coupons (id, name, discount_type, discount_value, total_quantity)
    values (1, 'c', 'AMOUNT', 100, 100000)`.execute(db)
})
afterAll(() => db?.destroy())

const topology = shopTopology('hostile')
const processor = topology.node('processor', 'coupon-issuer')

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc
    .array(
      fc.constantFrom('\u0000', '\ud800', '\udfff', '\u0001', '"', '\\', '😀', 'a', '\u2028', '\ufeff'),
      {
        maxLength: 8,
      },
    )
    .map((parts) => parts.join('')),
)
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileText,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileText, tie('value'), { maxKeys: 4 }),
  ),
})).value

/** A coupon request, some fields hostile. */
const request = fc.record(
  {
    requestId: fc.oneof(hostileText, fc.uuid(), fc.string({ minLength: 190, maxLength: 260 })),
    userId: fc.oneof(
      fc.integer({ min: 1, max: 6 }),
      fc.double(),
      fc.constant(Number.MAX_SAFE_INTEGER),
      hostileText,
    ),
    couponId: fc.oneof(fc.constant(1), fc.integer({ min: -1, max: 3 }), fc.constant(1e300)),
    requestedAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('1', 'Sat', '2026-02-30T00:00:00Z', '+275760-09-13T00:00:00.000Z', '\u0000'),
      hostileText,
    ),
    extra: jsonish,
  },
  { requiredKeys: [] },
)

const encode = (s: string) => Buffer.from(s, 'utf8')
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`
const value = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  jsonish.map((v) => encode(JSON.stringify(v) ?? 'null')),
  request.map((r) => encode(JSON.stringify(r))),
  fc.integer({ min: 1, max: 200_000 }).map(deep).map(encode),
  fc
    .integer({ min: 100_000, max: 900_000 })
    .map((n) => encode(JSON.stringify({ userId: 1, couponId: 1, pad: 'x'.repeat(n) }))),
  fc.constant(null),
)
const key = fc.oneof(
  fc.constant(encode('1')),
  fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
  hostileText.map(encode),
  fc.constant(null),
)
const hostileRecord = fc.record({
  key,
  value,
  headers: fc.dictionary(hostileText, hostileText, { maxKeys: 3 }),
})

let partition = 0

describe('hostile records through the coupon processor and PostgreSQL', () => {
  it('should end every record as a decision, a rejection or a DLQ record, and move past all of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileRecord, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 16 }),
        async (hostile, batchSize) => {
          const p = partition++
          // One coupon has one owning partition; each run plays a fresh partition, so it starts the
          // coupon's history afresh too.
          await sql`truncate outbox, outbox_batches, user_coupons, coupon_issue_requests`.execute(db)
          await sql`update coupons set issued_quantity = 0`.execute(db)
          const goodIds = [1, 2, 3].map((n) => `good-${p}-${n}`)
          const inputs = [
            ...hostile,
            ...goodIds.map((requestId, i) => ({
              key: encode('1'),
              value: encode(JSON.stringify({ requestId, userId: i + 1, couponId: 1 })),
              headers: {},
            })),
          ]
          const records: RawRecord[] = inputs.map((r, offset) => ({
            topic: Topics.COUPON_ISSUE,
            partition: p,
            offset: BigInt(offset),
            timestamp: Date.now(),
            ...r,
          }))
          const task = new PartitionTask({
            topology,
            processor,
            partition: p,
            backend: new PostgresStateBackend(db, topology.persistence()),
            owner: 'property',
            clock: Date.now,
          })
          await task.open(new Map([[Topics.COUPON_ISSUE, 0n]]))
          let consumed = 0
          for (let i = 0; i < records.length; i += batchSize) {
            consumed += (await task.runBatch(records.slice(i, i + batchSize))).consumed
          }
          task.close()

          // Every record was consumed exactly once, and the stored offset is past the last one.
          expect(consumed).toBe(records.length)
          const stored = await db
            .selectFrom('stream_offsets')
            .select('next_offset')
            .where('application_id', '=', 'hostile')
            .where('partition', '=', p)
            .executeTakeFirstOrThrow()
          expect(stored.next_offset).toBe(String(records.length))
          // Each record left exactly one output: its result event or its DLQ copy.
          const outbox = await pendingOutputs(db)
          expect(outbox).toHaveLength(records.length)
          const results = outbox.filter((o) => o.topic === Topics.COUPON_ISSUE_RESULT)
          const dead = outbox.filter((o) => o.topic === `${Topics.COUPON_ISSUE}.dlq`)
          expect(results.length + dead.length).toBe(records.length)
          // Nothing the processor produced was refused by the database: hostile input is caught at parse.
          expect(dead.map((o) => headersAsText(o.headers)['error.code'])).not.toContain('COMMIT_REJECTED')
          // The good records after the hostile ones were decided.
          const decided = results.map((o) => JSON.parse(Buffer.from(o.value).toString()).requestId)
          expect(decided).toEqual(expect.arrayContaining(goodIds))
          const rows = await db
            .selectFrom('coupon_issue_requests')
            .select(['request_id', 'status'])
            .where('request_id', 'in', goodIds)
            .execute()
          expect(rows.map((r) => r.status).sort()).not.toContain('PENDING')
          expect(rows).toHaveLength(3)
        },
      ),
      { numRuns: 40 },
    )
  })
})
