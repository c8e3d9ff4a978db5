/**
 * The runtime's StateBackend on PostgreSQL. A batch's store changes, its emitted records (the outbox)
 * and its partition offsets commit in one transaction; the task's epoch and the offsets are checked in
 * that same transaction, so an owner that lost the task cannot commit (fencing).
 */
import { type Kysely, sql, type Transaction } from 'kysely'
import type { TableRow } from '../topology/api.ts'
import {
  type BatchCommit,
  type Claim,
  FencedError,
  type StateBackend,
  type TaskId,
} from '../topology/runtime/backend.ts'
import type { Database } from './schema.ts'

/** Reads reference data for a lookup: the rows of `keys` that exist, by key. */
export type LookupReader = (db: Kysely<Database>, keys: readonly string[]) => Promise<Map<string, unknown>>
/** Applies a batch's rows for one table inside the batch's transaction; must be idempotent per row. */
export type TableWriter = (trx: Transaction<Database>, rows: readonly TableRow[]) => Promise<void>

export interface PostgresBackendOptions {
  lookups?: Record<string, LookupReader>
  tables?: Record<string, TableWriter>
}

export class PostgresStateBackend implements StateBackend {
  readonly #db: Kysely<Database>
  readonly #lookups: Record<string, LookupReader>
  readonly #tables: Record<string, TableWriter>

  constructor(db: Kysely<Database>, options: PostgresBackendOptions = {}) {
    this.#db = db
    this.#lookups = options.lookups ?? {}
    this.#tables = options.tables ?? {}
  }

  async lookup(name: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const reader = this.#lookups[name]
    if (!reader) throw new Error(`no lookup reader named "${name}"`)
    return reader(this.#db, keys)
  }

  async claim(task: TaskId, owner: string, fallback: ReadonlyMap<string, bigint>): Promise<Claim> {
    const { applicationId, processor, partition } = task
    return this.#db.transaction().execute(async (trx) => {
      // The previous owner may hold the task row in a commit; fail and retry rather than queue forever.
      await sql`set local lock_timeout = '5s'`.execute(trx)
      const { epoch } = await trx
        .insertInto('stream_tasks')
        .values({ application_id: applicationId, processor, partition, epoch: 1, owner })
        .onConflict((oc) =>
          oc.columns(['application_id', 'processor', 'partition']).doUpdateSet({
            epoch: sql`stream_tasks.epoch + 1`,
            owner,
            claimed_at: sql`now()`,
          }),
        )
        .returning('epoch')
        .executeTakeFirstOrThrow()
      const topics = [...fallback.keys()]
      if (topics.length > 0) {
        await trx
          .insertInto('stream_offsets')
          .values(
            topics.map((topic) => ({
              application_id: applicationId,
              topic,
              partition,
              next_offset: fallback.get(topic)!,
            })),
          )
          .onConflict((oc) => oc.doNothing())
          .execute()
      }
      const rows = await trx
        .selectFrom('stream_offsets')
        .select(['topic', 'next_offset'])
        .where('application_id', '=', applicationId)
        .where('partition', '=', partition)
        .where('topic', 'in', topics.length > 0 ? topics : [''])
        .execute()
      return { epoch, offsets: new Map(rows.map((r) => [r.topic, BigInt(r.next_offset)])) }
    })
  }

  async loadStore(task: TaskId, store: string): Promise<Array<[string, unknown]>> {
    const rows = await this.#db
      .selectFrom('store_entries')
      .select(['key', 'value'])
      .where('application_id', '=', task.applicationId)
      .where('store', '=', store)
      .where('partition', '=', task.partition)
      .execute()
    return rows.map((r) => [r.key, r.value])
  }

  async commit(batch: BatchCommit): Promise<void> {
    const { applicationId: app, processor, partition } = batch.task
    await this.#db.transaction().execute(async (trx) => {
      // Locks the task row until commit: a concurrent claim waits for us, then fences us from then on.
      const owner = await trx
        .selectFrom('stream_tasks')
        .select('epoch')
        .where('application_id', '=', app)
        .where('processor', '=', processor)
        .where('partition', '=', partition)
        .forUpdate()
        .executeTakeFirst()
      if (owner?.epoch !== batch.epoch) {
        throw new FencedError(batch.task, `epoch ${owner?.epoch} is not ours (${batch.epoch})`)
      }
      for (const { topic, expected, next } of batch.offsets) {
        const { numUpdatedRows } = await trx
          .updateTable('stream_offsets')
          .set({ next_offset: next, updated_at: sql`now()` })
          .where('application_id', '=', app)
          .where('topic', '=', topic)
          .where('partition', '=', partition)
          .where('next_offset', '=', expected.toString())
          .executeTakeFirst()
        if (numUpdatedRows !== 1n) throw new FencedError(batch.task, `${topic} offset moved from ${expected}`)
      }
      for (const { store, changes } of batch.stores) {
        if (changes.puts.length > 0) {
          await sql`
            insert into store_entries (application_id, store, partition, key, value)
            select ${app}, ${store}, ${partition}, k, v
            from unnest(${changes.puts.map(([k]) => k)}::text[], ${changes.puts.map(([, v]) => JSON.stringify(v))}::jsonb[]) as t(k, v)
            on conflict (application_id, store, partition, key) do update set value = excluded.value`.execute(
            trx,
          )
        }
        if (changes.deletes.length > 0) {
          await trx
            .deleteFrom('store_entries')
            .where('application_id', '=', app)
            .where('store', '=', store)
            .where('partition', '=', partition)
            .where('key', '=', sql<string>`any(${changes.deletes}::text[])`)
            .execute()
        }
      }
      for (const { table, rows } of batch.tables ?? []) {
        const writer = this.#tables[table]
        if (!writer) throw new Error(`no table writer named "${table}"`)
        if (rows.length > 0) await writer(trx, rows)
      }
      if (batch.outputs.length > 0) {
        const o = batch.outputs
        await sql`
          insert into outbox (topic, key, value, headers)
          select * from unnest(
            ${o.map((r) => r.topic)}::text[], ${o.map((r) => r.key)}::text[],
            ${o.map((r) => r.value)}::bytea[], ${o.map((r) => JSON.stringify(r.headers))}::jsonb[])`.execute(
          trx,
        )
      }
    })
  }
}
