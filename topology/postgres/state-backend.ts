/**
 * The runtime's StateBackend on PostgreSQL. A batch's store changes, its emitted records (the outbox)
 * and its partition offsets commit in one transaction; the task's epoch and the offsets are checked in
 * that same transaction, so an owner that lost the task cannot commit (fencing).
 */

import { type Kysely, sql, type Transaction } from 'kysely'
import type { TableRow } from '../api.ts'
import { StreamsError } from '../errors.ts'
import {
  type AppliedId,
  type BatchCommit,
  type Claim,
  type CommitOutcome,
  CommitOutcomes,
  CommitRejectedError,
  FencedError,
  type StateBackend,
  type TaskId,
} from '../runtime/backend.ts'
import { appliedRows, loadAppliedIds } from './applied-batches.ts'
import { arrayLiteral } from './array-literal.ts'
import { classifyCommitError } from './commit-errors.ts'
import { encodeBatch } from './outbox-batch-codec.ts'
import type { StreamsDatabase } from './schema.ts'

/** Reads reference data for a lookup: the rows of `keys` that exist, by key. */
// biome-ignore lint/suspicious/noExplicitAny: readers query the application's own tables, typed by it
export type LookupReader<DB = any> = (
  db: Kysely<DB>,
  keys: readonly string[],
) => Promise<Map<string, unknown>>
/** Applies a batch's rows for one table inside the batch's transaction; must be idempotent per row. */
// biome-ignore lint/suspicious/noExplicitAny: as for LookupReader
export type TableWriter<DB = any> = (trx: Transaction<DB>, rows: readonly TableRow[]) => Promise<void>

export interface PostgresBackendOptions {
  lookups?: Record<string, LookupReader>
  tables?: Record<string, TableWriter>
}

export class PostgresStateBackend implements StateBackend {
  readonly #db: Kysely<StreamsDatabase>
  readonly #lookups: Record<string, LookupReader>
  readonly #tables: Record<string, TableWriter>

  constructor(db: Kysely<StreamsDatabase>, options: PostgresBackendOptions = {}) {
    this.#db = db
    this.#lookups = options.lookups ?? {}
    this.#tables = options.tables ?? {}
  }

  /** A store's entries of one partition (a query to narrow further). */
  #storeEntries(task: TaskId, store: string) {
    return this.#db
      .selectFrom('store_entries')
      .select(['key', 'value'])
      .where('application_id', '=', task.applicationId)
      .where('store', '=', store)
      .where('partition', '=', task.partition)
  }

  async lookup(name: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const reader = this.#lookups[name]
    if (!reader) throw new StreamsError('NO_READER', `no lookup reader named "${name}"`)
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

  async sourcePartitions(
    applicationId: string,
    counts: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    if (counts.size === 0) return new Map()
    // First start records the counts; later starts leave them as they were (that is the point).
    await this.#db
      .insertInto('stream_source_partitions')
      .values(
        [...counts].map(([topic, partitions]) => ({ application_id: applicationId, topic, partitions })),
      )
      .onConflict((oc) => oc.columns(['application_id', 'topic']).doNothing())
      .execute()
    const rows = await this.#db
      .selectFrom('stream_source_partitions')
      .select(['topic', 'partitions'])
      .where('application_id', '=', applicationId)
      .where('topic', 'in', [...counts.keys()])
      .execute()
    return new Map(rows.map((r) => [r.topic, r.partitions]))
  }

  async loadStore(task: TaskId, store: string): Promise<Array<[string, unknown]>> {
    const rows = await this.#storeEntries(task, store).execute()
    return rows.map((r) => [r.key, r.value])
  }

  /** The task's window, when it opens: its rows of stream_applied_batches (applied-batches.ts). */
  async loadAppliedIds(task: TaskId, since: ReadonlyMap<string, bigint>): Promise<AppliedId[]> {
    return loadAppliedIds(this.#db, task, since)
  }

  /** One statement, one probe of the primary key per key, whatever the number of keys. */
  async loadKeys(task: TaskId, store: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const { rows } = await storeKeysStatement(task, store, keys).execute(this.#db)
    return new Map(rows.map((r) => [r.key, r.value]))
  }

  /**
   * One statement does the whole commit when the batch writes no tables: it locks the task row if the
   * epoch is still ours, moves every offset by compare-and-set, and only if all of that held writes
   * the store changes and the outbox records. One round trip, atomic on its own. Table writers need
   * their own statements, so a batch with table rows wraps the same statement in a transaction.
   */
  async commit(batch: BatchCommit): Promise<CommitOutcome> {
    let statement: ReturnType<typeof commitStatement>
    try {
      statement = commitStatement(batch)
    } catch (error) {
      // Building the statement touches only the batch's own content (JSON of its store values): a
      // value that cannot be serialized is refused content, before anything was sent.
      throw new CommitRejectedError(batch.task, `a value cannot be serialized: ${String(error)}`, {
        cause: error,
      })
    }
    try {
      return await this.#commitWith(batch, statement)
    } catch (error) {
      throw classifyCommitError(batch.task, error)
    }
  }

  async #commitWith(
    batch: BatchCommit,
    statement: ReturnType<typeof commitStatement>,
  ): Promise<CommitOutcome> {
    const tables = (batch.tables ?? []).filter((t) => t.rows.length > 0)
    if (tables.length === 0) return this.#checkCommitted(this.#db, batch, await statement.execute(this.#db))
    return this.#db.transaction().execute(async (trx) => {
      const outcome = await this.#checkCommitted(trx, batch, await statement.execute(trx))
      // An earlier attempt wrote the rows with the batch; writing them again is not ours to do.
      if (outcome === CommitOutcomes.ALREADY_COMMITTED) return outcome
      for (const { table, rows } of tables) {
        const writer = this.#tables[table]
        if (!writer) throw new StreamsError('NO_READER', `no table writer named "${table}"`)
        await writer(trx, rows)
      }
      return outcome
    })
  }

  async #checkCommitted(
    db: Kysely<StreamsDatabase>,
    batch: BatchCommit,
    result: { rows: Array<{ ok: boolean; owned: boolean }> },
  ): Promise<CommitOutcome> {
    const { ok, owned } = result.rows[0] ?? { ok: false, owned: false }
    if (ok) return CommitOutcomes.COMMITTED
    if (owned && (await alreadyCommitted(db, batch))) return CommitOutcomes.ALREADY_COMMITTED
    throw new FencedError(batch.task, owned ? 'an offset moved' : `epoch ${batch.epoch} is no longer current`)
  }
}

/**
 * Whether this batch committed before: a retry after a reply was lost (the connection dropped after
 * the statement committed) finds the offsets moved, by itself. That is the case exactly when the epoch
 * is still ours and every offset stands at this batch's `next`: within one epoch only this task's
 * owner commits, one batch at a time, each starting where the last one ended, so the only batch that
 * ends at `next` from `expected` is this one, run over the same records. Asked in a statement of its
 * own (a fresh snapshot), so it also sees an attempt that committed while the retry waited for the
 * task row's lock.
 */
async function alreadyCommitted(db: Kysely<StreamsDatabase>, batch: BatchCommit): Promise<boolean> {
  const { applicationId: app, processor, partition } = batch.task
  const { rows } = await sql<{ ours: boolean }>`
    select exists (
      select 1 from stream_tasks
      where application_id = ${app} and processor = ${processor} and partition = ${partition}
        and epoch = ${batch.epoch}
    ) and (
      select count(*) from stream_offsets o
      join unnest(${arrayLiteral(batch.offsets.map((x) => x.topic))}::text[],
        ${arrayLiteral(batch.offsets.map((x) => String(x.next)))}::bigint[]) as v(topic, next)
        on o.topic = v.topic and o.next_offset = v.next
      where o.application_id = ${app} and o.partition = ${partition}
    ) = ${batch.offsets.length} as ours`.execute(db)
  return rows[0]?.ours === true
}

/**
 * The entries of some keys of a task's store, each found by a probe of the primary key (exported so a
 * test can read its plan). Written as `key = any($keys)`, the plan depended on statistics: without them
 * (a new table, or autovacuum off as on this project's CI machine) PostgreSQL estimated one row for the
 * (application, store, partition) prefix and checked the keys in a Filter over all of its entries, so a
 * lookup read the whole partition's store: 34–53 ms a batch at 26,000 entries, most of PostgreSQL's CPU in
 * `bench:orders` over 60,000 orders. A lateral probe with `limit 1` cannot be planned as anything else.
 */
export function storeKeysStatement(task: TaskId, store: string, keys: readonly string[]) {
  return sql<{ key: string; value: unknown }>`
    select k.key, e.value
    from unnest(${arrayLiteral(keys)}::text[]) as k(key)
    cross join lateral (
      select value from store_entries
      where application_id = ${task.applicationId} and store = ${store} and partition = ${task.partition}
        and key = k.key
      limit 1
    ) e`
}

function commitStatement(batch: BatchCommit) {
  const { applicationId: app, processor, partition } = batch.task
  const putStores: string[] = []
  const putKeys: string[] = []
  const putValues: unknown[] = []
  for (const { store, changes } of batch.stores)
    for (const [k, v] of changes.puts) {
      putStores.push(store)
      putKeys.push(k)
      putValues.push(v)
    }
  // The values as ONE JSON array, not a jsonb[] of JSON texts: the driver would escape every quote of
  // every value for the array literal, the largest share of building a commit (bench:orders profile).
  const values = JSON.stringify(putValues)
  const dels = batch.stores.flatMap(({ store, changes }) => changes.deletes.map((k) => [store, k]))
  const o = batch.outputs
  // The outputs as one row (outbox-batch-codec.ts): a row per record cost PostgreSQL more than the rest
  // of the commit together (bench:coupons).
  const outputs = o.length > 0 ? encodeBatch(o) : null
  // The applied ids as one row per topic, not one per id (applied-batches.ts).
  const applied = appliedRows(batch.applied?.ids ?? [])
  // One range per topic, spelled out: joined to an unnest, the bound would be a filter over the rows
  // instead of the end of an index range.
  const forgetting = sql.join(
    [
      sql`false`,
      ...(batch.applied?.forget ?? []).map(
        (f) => sql`(a.topic = ${f.topic} and a.last_offset < ${String(f.before)}::bigint)`,
      ),
    ],
    sql` or `,
  )
  // The owner CTE locks the task row (FOR UPDATE) until the commit: a concurrent claim waits for us and
  // fences us from then on. Every write below runs only if the epoch and all offsets matched.
  return sql<{ ok: boolean; owned: boolean }>`
    with owner as (
      select 1 from stream_tasks
      where application_id = ${app} and processor = ${processor} and partition = ${partition}
        and epoch = ${batch.epoch}
      for update
    ),
    moved as (
      update stream_offsets o set next_offset = v.next, updated_at = now()
      from unnest(${arrayLiteral(batch.offsets.map((x) => x.topic))}::text[],
        ${arrayLiteral(batch.offsets.map((x) => String(x.expected)))}::bigint[],
        ${arrayLiteral(batch.offsets.map((x) => String(x.next)))}::bigint[]) as v(topic, expected, next)
      where o.application_id = ${app} and o.partition = ${partition} and o.topic = v.topic
        and o.next_offset = v.expected and exists (select 1 from owner)
      returning 1
    ),
    verdict as (select count(*) = ${batch.offsets.length} as ok from moved),
    puts as (
      insert into store_entries (application_id, store, partition, key, value)
      select ${app}, t.s, ${partition}, t.k, v.value
      from unnest(${arrayLiteral(putStores)}::text[], ${arrayLiteral(putKeys)}::text[]) with ordinality as t(s, k, n)
      join jsonb_array_elements(${values}::jsonb) with ordinality as v(value, n) using (n)
      where (select ok from verdict)
      on conflict (application_id, store, partition, key) do update set value = excluded.value
    ),
    dels as (
      delete from store_entries e
      using unnest(${arrayLiteral(dels.map((d) => d[0]))}::text[], ${arrayLiteral(dels.map((d) => d[1]))}::text[]) as d(s, k)
      where (select ok from verdict) and e.application_id = ${app} and e.partition = ${partition}
        and e.store = d.s and e.key = d.k
    ),
    outs as (
      insert into outbox_batches (records, record_count)
      select ${outputs}::bytea, ${o.length}::int
      where (select ok from verdict) and ${o.length}::int > 0
    ),
    applied as (
      insert into stream_applied_batches
        (application_id, processor, partition, topic, last_offset, digests, offsets)
      select ${app}, ${processor}, ${partition}, t, l, d, r
      from unnest(${arrayLiteral(applied.topics)}::text[], ${arrayLiteral(applied.lastOffsets)}::bigint[],
        ${arrayLiteral(applied.digests)}::bytea[], ${arrayLiteral(applied.offsets)}::bytea[]) as a(t, l, d, r)
      where (select ok from verdict)
      -- Only after the task's offsets were moved back by hand (a replay): the replayed batch's ids are
      -- what the task applied last, as its window in memory has them.
      on conflict (application_id, processor, partition, topic, last_offset)
        do update set digests = excluded.digests, offsets = excluded.offsets
    ),
    forgotten as (
      delete from stream_applied_batches a
      where (select ok from verdict) and a.application_id = ${app} and a.processor = ${processor}
        and a.partition = ${partition} and (${forgetting})
    )
    select (select ok from verdict) as ok, exists (select 1 from owner) as owned`
}
