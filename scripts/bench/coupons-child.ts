/**
 * One phase of the coupon benchmark, in a process of its own (started by runCouponsPhase in
 * coupons-phase.ts with its CouponsPhaseConfig as the argument; reports over IPC).
 */
import { createDb } from '../../state/db.ts'
import { runOurs } from './coupons-ours.ts'
import type { CouponsChildMessage, CouponsPhaseConfig } from './coupons-phase.ts'
import { runSeed } from './coupons-seed.ts'
import { KafkaScratch } from './infra.ts'

const config = JSON.parse(process.argv[2] ?? '{}') as CouponsPhaseConfig
const send = (message: CouponsChildMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()))

const db = config.mode === 'ours' ? createDb({ url: config.databaseUrl }) : undefined
const scratch = config.mode === 'ours' ? new KafkaScratch(config.brokers) : undefined
let code = 0
try {
  if (db && scratch) await send({ type: 'result', ours: await runOurs(config, db, scratch) })
  else await send({ type: 'result', seed: await runSeed(config) })
} catch (error) {
  await send({ type: 'error', message: (error as Error).stack ?? String(error) })
  code = 1
} finally {
  await scratch?.cleanup()
  await db?.destroy()
}
process.exit(code)
