/**
 * Run by test/unit/worker-heap.test.ts as `node <the service's flags> young-generation.ts`: the heap
 * limits (MiB) of a worker started by startWorker, of a plain worker started after it, and of this
 * thread, printed as JSON. V8's heap_size_limit is the isolate's old-space limit plus its young
 * generation (3 semi-spaces): the semi-spaces an isolate was configured with, whatever it allocated.
 */
import v8 from 'node:v8'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { startWorker } from '../../topology/worker-heap.ts'

const limit = () => v8.getHeapStatistics().heap_size_limit / 2 ** 20

const limitOf = (worker: Worker) =>
  new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject))

if (isMainThread) {
  const url = new URL(import.meta.url)
  const started = await limitOf(startWorker(url, { semiSpaceMb: 2 }))
  const plain = await limitOf(new Worker(url))
  console.log(JSON.stringify({ started, plain, main: limit() }))
} else {
  parentPort!.postMessage(limit())
}
