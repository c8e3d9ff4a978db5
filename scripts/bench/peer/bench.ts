/**
 * The Kafka Streams peer alone (`./run bench:peer [--requests 200000]`): the coupon benchmark's requests
 * (the same generator, seed, keys and values as `./run bench:coupons`) produced to a topic of this run's
 * own, then the peer over it under each guarantee (peer.ts), checked request by request. `./run
 * bench:coupons` runs the peer too, beside ours, over the topic ours read; this is the peer without ours.
 *
 * Its own options: --requests 200000 --users 10000 --coupons 10 --supply 1000 --cold-share 0.0025
 * --threads N (num.stream.threads; 0, the default: one per partition)
 * --guarantee both|exactly_once_v2|at_least_once (and the harness's --partitions --out --no-write).
 */
import { expectedOutcomes, makeRequests, readOrder, requestRecord, type Workload } from '../coupons/sale.ts'
import type { Bench, Benchmark } from '../harness/bench.ts'
import { log } from '../harness/infra.ts'
import { produceBulk } from '../harness/produce.ts'
import { per } from '../harness/report.ts'
import { GUARANTEES, type Guarantee, type PeerRuns, runPeer } from './peer.ts'
import { PEER_METHOD, renderPeer } from './report.ts'

interface PeerParams {
  requests: number
  workload: Workload
  threads: number | undefined
  guarantees: readonly Guarantee[]
}

function params(bench: Bench): PeerParams {
  const guarantee = String(bench.args.guarantee)
  if (guarantee !== 'both' && !GUARANTEES.includes(guarantee as Guarantee))
    throw new Error(`--guarantee must be both, ${GUARANTEES.join(' or ')}; got ${guarantee}`)
  const threads = bench.int('threads', 0)
  return {
    requests: bench.int('requests'),
    // The same sale and seed as bench:coupons, so the topic holds the same requests.
    workload: {
      users: bench.int('users'),
      coupons: bench.int('coupons', 2),
      supply: bench.int('supply', 1, 999_999),
      coldShare: bench.number('cold-share', 0, 1),
      seed: 20_261_124,
    },
    threads: threads === 0 ? undefined : threads,
    guarantees: guarantee === 'both' ? GUARANTEES : [guarantee as Guarantee],
  }
}

async function run(bench: Bench, p: PeerParams): Promise<PeerRuns> {
  const { brokers, scratch, partitions } = bench
  const N = p.requests
  const input = await scratch.createTopic('peer-requests', partitions)
  log(`producing ${N} requests to ${input}`)
  const requests = makeRequests(p.workload, N)
  log(
    `produced ${per({ records: N, seconds: await produceBulk(brokers, input, N, requestRecord(requests)) })}`,
  )
  const ends = await scratch.expectTotal(input, N)
  const order = await readOrder(brokers, input, ends)
  return runPeer({
    brokers,
    input,
    partitions,
    requests: N,
    sale: p.workload,
    expected: expectedOutcomes(order, p.workload, 'holders-first'),
    guarantees: p.guarantees,
    ...(p.threads ? { threads: p.threads } : {}),
    log,
  })
}

export const peer: Benchmark<PeerParams, PeerRuns> = {
  name: 'peer',
  title: 'The Kafka Streams peer alone (`./run bench:peer`)',
  options: {
    requests: '200000',
    users: '10000',
    coupons: '10',
    supply: '1000',
    'cold-share': '0.0025',
    threads: '0',
    guarantee: 'both',
  },
  overallMinutes: 30,
  params,
  run,
  render: (runs) => renderPeer(runs),
  failures: (runs) =>
    runs.runs.filter((r) => !r.check.ok).map((r) => `the peer under ${r.guarantee} decided wrong`),
  method: PEER_METHOD,
}
