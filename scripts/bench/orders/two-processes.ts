/**
 * `--two-processes 1`: ours over the same orders as two processes of one application (a consumer group
 * of two, as two `ROLE=processors` instances of the service would run), on a fresh shop and topics of
 * their own, each process measured on its own. One process is bound by its one event loop; this asks
 * how far a second one carries the saga on this machine.
 */
import { allTopics, type TopicNames, topicNames } from '../../../processors/topics.ts'
import type { AppPhaseConfig } from '../harness/app-run.ts'
import type { Bench } from '../harness/bench.ts'
import { log } from '../harness/infra.ts'
import { produceBulk } from '../harness/produce.ts'
import { per } from '../harness/report.ts'
import { type OursRun, ours } from './ours.ts'
import { freshShop, outcome, owed } from './setup.ts'
import { type OrdersCheck, verifyOurs } from './verify.ts'
import { type BenchOrder, orderRecord, type Workload } from './workload.ts'

export interface TwoProcesses {
  runs: OursRun[]
  check: OrdersCheck
}

export async function runTwoProcesses(
  bench: Bench,
  o: {
    orders: BenchOrder[]
    prefix: string
    workload: Workload
    appConfig: (name: string, t: TopicNames, total: number) => { config: AppPhaseConfig; internal: string[] }
  },
): Promise<TwoProcesses> {
  const N = o.orders.length
  const db = await freshShop(bench, o.orders, o.workload)
  const t = topicNames(o.prefix)
  const { config, internal } = o.appConfig('orders-two', t, N)
  await bench.scratch.createTopics([...allTopics(o.prefix), ...internal], bench.partitions)
  await produceBulk(bench.brokers, t.ORDER_CREATED, N, orderRecord(o.orders))
  log(`ours in two processes over ${N} orders (database ${db.name})`)
  const phaseConfig = {
    ...{ ...config, databaseUrl: db.url, database: db.name, prefix: o.prefix },
    ...{ restores: owed(o.orders), live: false, outputs: N },
  }
  const runs = await Promise.all(
    ['first', 'second'].map((which) =>
      bench.phase(ours, phaseConfig, {
        label: `ours, ${which} of two processes`,
        records: N,
        floorPerSecond: 100,
      }),
    ),
  )
  log(`ours in two processes: ${runs.map((r) => per(r.published)).join(', ')}`)
  const check = await verifyOurs(db.url, bench.scratch, o.prefix, config.applicationId, o.orders)
  log(`ours in two processes correct: ${outcome(check)}`)
  return { runs, check }
}
