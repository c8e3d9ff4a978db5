/**
 * The benchmarks' one entry point: `node scripts/bench.ts <name> [options]` (`./run bench:<name>`).
 * Each benchmark is one `Benchmark` under scripts/bench/<name>/, run by the harness in
 * scripts/bench/harness/; docs/benchmarks.md says how to add one.
 */
import { coupons } from './bench/coupons/coupons.ts'
import { edge } from './bench/edge/edge.ts'
import { runBenchmark } from './bench/harness/bench.ts'
import { ordersBenchmark } from './bench/orders/orders.ts'
import { peer } from './bench/peer/bench.ts'
import { runtimeLong } from './bench/runtime/long-run.ts'
import { runtime } from './bench/runtime/runtime.ts'

const benchmarks: Record<string, (argv: string[]) => Promise<number>> = {
  runtime: (argv) => runBenchmark(runtime, argv),
  'runtime-long': (argv) => runBenchmark(runtimeLong, argv),
  coupons: (argv) => runBenchmark(coupons, argv),
  orders: (argv) => runBenchmark(ordersBenchmark, argv),
  peer: (argv) => runBenchmark(peer, argv),
  edge: (argv) => runBenchmark(edge, argv),
}

const [name = '', ...argv] = process.argv.slice(2)
const bench = benchmarks[name]
if (!bench) {
  process.stderr.write(`usage: node scripts/bench.ts <${Object.keys(benchmarks).join('|')}> [options]\n`)
  process.exit(2)
}
process.exit(await bench(argv))
