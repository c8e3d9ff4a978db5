/**
 * The Kafka Streams peer alone (`./run bench:peer [--requests 200000]`): the coupon benchmark's
 * requests (the same generator, seed, keys and values as `./run bench:coupons`) produced to a topic of
 * this run's own, then the peer over it under each guarantee (peer.ts), checked request by request.
 * Prints its figures; writes nothing. `./run bench:coupons` runs the peer too, beside ours.
 *
 * Options: --requests 200000 --users 10000 --coupons 10 --supply 1000 --cold-share 0.0025
 * --partitions 3 --threads N (num.stream.threads; default one per partition)
 * --guarantee both|exactly_once_v2|at_least_once
 */
import { parseArgs } from 'node:util'
import { withTimeout } from '../../../topology/retry.ts'
import {
  expectedOutcomes,
  makeRequests,
  produceRequests,
  readOrder,
  type Workload,
} from '../coupons-workload.ts'
import { ensureBroker, KafkaScratch, log } from '../infra.ts'
import { GUARANTEES, type Guarantee, runPeer } from './peer.ts'
import { renderPeer } from './report.ts'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    users: { type: 'string', default: '10000' },
    coupons: { type: 'string', default: '10' },
    supply: { type: 'string', default: '1000' },
    'cold-share': { type: 'string', default: '0.0025' },
    partitions: { type: 'string', default: '3' },
    threads: { type: 'string' },
    guarantee: { type: 'string', default: 'both' },
  },
})
const int = (name: keyof typeof args, min = 1, max = Number.MAX_SAFE_INTEGER) => {
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer in ${min}…${max}, got ${args[name]}`)
  return n
}
const coldShare = Number(args['cold-share'])
if (!(coldShare >= 0 && coldShare < 1)) throw new Error(`--cold-share must be in [0, 1), got ${coldShare}`)
const guarantee = args.guarantee!
if (guarantee !== 'both' && !GUARANTEES.includes(guarantee as Guarantee))
  throw new Error(`--guarantee must be both, ${GUARANTEES.join(' or ')}; got ${guarantee}`)
const N = int('requests')
const partitions = int('partitions')
// The same sale and seed as bench:coupons, so the topic holds the same requests.
const workload: Workload = {
  users: int('users'),
  coupons: int('coupons', 2),
  supply: int('supply', 1, 999_999),
  coldShare,
  seed: 20_261_124,
}

async function main(): Promise<boolean> {
  const broker = ensureBroker()
  const scratch = new KafkaScratch(broker.brokers)
  try {
    const input = await scratch.createTopic('peer-requests', partitions)
    log(`producing ${N} requests to ${input}`)
    const requests = makeRequests(workload, N)
    const seconds = await produceRequests(broker.brokers, input, requests)
    log(`produced ${N} in ${seconds.toFixed(2)}s`)
    const ends = await scratch.endOffsets(input)
    if ((await scratch.total(input)) !== N) throw new Error(`${input} does not hold ${N}`)
    const order = await readOrder(broker.brokers, input, ends)
    const peer = await runPeer({
      brokers: broker.brokers,
      input,
      partitions,
      requests: N,
      sale: workload,
      expected: expectedOutcomes(order, workload, 'holders-first'),
      guarantees: guarantee === 'both' ? GUARANTEES : [guarantee as Guarantee],
      ...(args.threads ? { threads: int('threads') } : {}),
      log,
    })
    process.stdout.write(`\n${renderPeer(peer)}\n`)
    return peer.runs.every((r) => r.check.ok)
  } finally {
    await withTimeout(scratch.cleanup(), 60_000, 'cleanup').catch((e) => log(`cleanup failed: ${e}`))
    broker.stop()
  }
}

let exitCode = 0
try {
  if (!(await main())) {
    process.stderr.write('bench:peer: WRONG RESULTS (see the correctness table)\n')
    exitCode = 1
  }
} catch (error) {
  process.stderr.write(`bench:peer failed: ${(error as Error).stack ?? error}\n`)
  exitCode = 1
}
process.exit(exitCode)
