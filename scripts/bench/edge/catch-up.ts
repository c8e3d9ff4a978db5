/**
 * After a load: how long the processor takes to decide every request the API accepted, and the relay
 * to publish every result. wrk stops without waiting for the answers it still expects, and the service
 * goes on serving those requests (up to one per connection) for a while — on a busy machine for
 * seconds — so the number of requests to wait for is only known once no new row has come for a while.
 */
import { performance } from 'node:perf_hooks'
import { OUTBOX_BACKLOG_SQL } from '../../../topology/postgres/outbox-relay.ts'
import { log, withClient } from '../harness/infra.ts'

/** No new request row for this long: the requests wrk left in flight have all been committed. */
const SETTLE_MS = 2_000
/** Nothing moved (rows, decisions, outbox) for this long: the service is stuck. */
const STALL_MS = 60_000

export interface CatchUp {
  requests: number
  /** From the call until the last request was decided. */
  decidedSeconds: number
  /** … until the outbox was empty: every result event published. */
  publishedSeconds: number
}

interface Counts {
  requests: number
  decided: number
  /** Outputs not yet published: outbox rows, and the records of batch rows not yet sent. */
  pending: number
}

const COUNTS = `select
  (select count(*) from coupon_issue_requests)::int as requests,
  (select count(*) from coupon_issue_requests where status <> 'PENDING')::int as decided,
  ${OUTBOX_BACKLOG_SQL}::int as pending`

export function catchUp(databaseUrl: string): Promise<CatchUp> {
  return withClient(databaseUrl, async (client) => {
    const started = performance.now()
    const seconds = (at: number) => (at - started) / 1000
    let last: Counts | undefined
    let rowsChanged = started
    let anyChanged = started
    let decidedAt: number | undefined
    let publishedAt: number | undefined
    for (;;) {
      const now = performance.now()
      const c = (await client.query<Counts>(COUNTS)).rows[0]!
      if (!last || c.requests !== last.requests) {
        rowsChanged = now
        // A late row: the requests decided before it were not the last ones, so both times start again.
        decidedAt = undefined
        publishedAt = undefined
      }
      if (!last || c.requests !== last.requests || c.decided !== last.decided || c.pending !== last.pending)
        anyChanged = now
      last = c
      const decided = c.decided === c.requests
      decidedAt = decided ? (decidedAt ?? now) : undefined
      publishedAt = decided && c.pending === 0 ? (publishedAt ?? now) : undefined
      if (publishedAt !== undefined && now - rowsChanged >= SETTLE_MS) {
        const r = {
          requests: c.requests,
          decidedSeconds: seconds(decidedAt!),
          publishedSeconds: seconds(publishedAt),
        }
        log(
          `${r.requests} requests decided after ${r.decidedSeconds.toFixed(2)} s, published after ${r.publishedSeconds.toFixed(2)} s`,
        )
        return r
      }
      if (now - anyChanged > STALL_MS)
        throw new Error(
          `no progress for ${STALL_MS / 1000} s: ${JSON.stringify(c)} (requests, decided, outputs pending)`,
        )
      await new Promise((r) => setTimeout(r, 50))
    }
  })
}
