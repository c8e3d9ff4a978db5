/**
 * What the outbox holds and has not published yet, as records: `outbox` rows, then the unpublished
 * records of `outbox_batches` rows, each in commit order. For tools and tests; the relay reads rounds.
 */
import type { Kysely } from 'kysely'
import { decodeBatch } from './outbox-batch-codec.ts'
import type { StreamsDatabase } from './schema.ts'

export interface PendingOutput {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer
  /** topology/runtime/header-codec.ts's encoding. */
  readonly headers: Buffer
}

export async function pendingOutputs(db: Kysely<StreamsDatabase>): Promise<PendingOutput[]> {
  const rows = await db
    .selectFrom('outbox')
    .select(['topic', 'key', 'value', 'headers'])
    .orderBy('id')
    .execute()
  const batches = await db
    .selectFrom('outbox_batches')
    .select(['records', 'published'])
    .orderBy('id')
    .execute()
  return [...rows, ...batches.flatMap((b) => decodeBatch(b.records).slice(b.published))]
}
