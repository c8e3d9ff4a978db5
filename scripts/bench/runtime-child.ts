/**
 * One runtime phase of the benchmark, in a process of its own (started by runPhase in
 * runtime-harness.ts with its PhaseConfig as the argument; reports over IPC).
 */

import { createDb } from '../../state/db.ts'
import { withTimeout } from '../../topology/retry.ts'
import { KafkaScratch } from './infra.ts'
import { RssSampler, waitProgress } from './measure.ts'
import {
  type ChildMessage,
  exactQuantiles,
  type ParentMessage,
  type PhaseConfig,
  type PhaseResult,
  publicationLatencies,
  RuntimeHarness,
} from './runtime-harness.ts'
import { storageCeiling } from './storage-ceiling.ts'

const config = JSON.parse(process.argv[2] ?? '{}') as PhaseConfig
const send = (message: ChildMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()))

function liveTotal(): Promise<number> {
  return new Promise((resolve) => {
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'live-sent') resolve(message.total)
    })
  })
}

async function runtimePhase(scratch: KafkaScratch, harness: RuntimeHarness): Promise<PhaseResult> {
  const rss = new RssSampler(250)
  let maxQueued = 0
  const queueSampler = setInterval(() => {
    void harness.queued().then((q) => (maxQueued = Math.max(maxQueued, q)))
  }, 250)
  const runtime = await harness.runUntilDone(scratch, (v) => {
    rss.progress = v
  })
  rss.stop()
  clearInterval(queueSampler)
  const result: PhaseResult = {
    runtime,
    rss: rss.summary(config.total),
    maxQueued,
    queuedLatency: await harness.histogramQuantiles(),
  }
  if (!config.live) return result

  // Live: the parent produces at a fixed rate into the caught-up runtime; every latency it observes is kept.
  const inputFrom = await scratch.endOffsets(config.input)
  const outputFrom = await scratch.endOffsets(config.output)
  harness.metrics.endToEnd.reset()
  harness.collecting = true
  const total = liveTotal()
  await send({ type: 'caught-up' })
  const target = await withTimeout(total, 10 * 60_000, 'the parent producing the live records')
  await waitProgress('live records to be committed', () => harness.committed(), target, { maxMs: 120_000 })
  await waitProgress('live outputs to be published', () => scratch.total(config.output), target, {
    maxMs: 120_000,
  })
  harness.collecting = false
  const publish = await publicationLatencies(config, scratch, inputFrom, outputFrom)
  result.live = {
    exact: exactQuantiles(harness.latencies),
    histogram: await harness.histogramQuantiles(),
    publish: exactQuantiles(publish),
  }
  return result
}

const db = createDb({ url: config.databaseUrl })
const scratch = new KafkaScratch(config.brokers)
const harness = config.mode === 'runtime' ? new RuntimeHarness(config, db) : undefined
let code = 0
try {
  const result = harness
    ? await runtimePhase(scratch, harness)
    : { storage: await storageCeiling(config, db) }
  await send({ type: 'result', result })
} catch (error) {
  await send({ type: 'error', message: (error as Error).message })
  code = 1
} finally {
  await harness?.stop()
  await scratch.cleanup()
  await db.destroy()
}
process.exit(code)
