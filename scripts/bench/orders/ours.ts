/**
 * Ours, measured in a child process of its own: the shop topology on the StreamsApp facade over the
 * backlog of orders until every order's status event is published (so every order is final in
 * PostgreSQL: the event commits with the status), then until every restore event the compensation
 * owed is applied by its owner (quiescence: the conservation laws hold only then); when `live`, it then
 * asks the parent to produce orders at half the rate it just measured and waits for those too.
 */
import pg from 'pg'
import { shopTopology } from '../../../processors/shop-topology.ts'
import { topicNames } from '../../../processors/topics.ts'
import { type AppPhaseConfig, type AppRun, measureApp } from '../harness/app-run.ts'
import { waitProgress } from '../harness/measure.ts'
import { childPhase } from '../harness/phase.ts'
import { rate } from '../harness/report.ts'

export interface OursConfig extends AppPhaseConfig {
  prefix: string
  /** Restore events the backlog's compensation owes (workload.ts). */
  restores: number
  live: boolean
}

/** The live phase's question: the rate measured (orders/s); the answer is what to wait for then. */
export interface LiveQuestion {
  measuredRate: number
}
export interface LiveAnswer {
  total: number
  restores: number
  rate: number
  sent: number
  seconds: number
}

export interface OursRun extends AppRun {
  /** From the phase's start until every owed restore was applied too. */
  quiescentSeconds: number
  live?: LiveAnswer
}

/** Restores applied by their owners (APPLIED rows), read from the phase's database. */
async function appliedRestores(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    "select count(*) as n from applied_restores where outcome = 'APPLIED'",
  )
  return Number(rows[0]!.n)
}

export const ours = childPhase(import.meta.url, 'ours', (config: OursConfig, ask) =>
  measureApp(
    config,
    shopTopology(config.applicationId, topicNames(config.prefix)),
    async (_measured, scratch, run): Promise<Omit<OursRun, keyof AppRun>> => {
      const client = new pg.Client({ connectionString: config.databaseUrl })
      await client.connect()
      try {
        const started = performance.now()
        await waitProgress('owed restores to be applied', () => appliedRestores(client), config.restores, {
          everyMs: 20,
        })
        const quiescentSeconds = run.published.seconds + (performance.now() - started) / 1000
        if (!config.live) return { quiescentSeconds }
        const question: LiveQuestion = { measuredRate: rate(run.published) }
        const live = (await ask(question)) as LiveAnswer
        const waits = { maxMs: 180_000 }
        const output = config.output
        await waitProgress('live status events', () => scratch.total(output), live.total, waits)
        await waitProgress('live restores applied', () => appliedRestores(client), live.restores, waits)
        return { quiescentSeconds, live }
      } finally {
        await client.end()
      }
    },
  ),
)
