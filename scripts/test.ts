/**
 * The test command (`./run test`): lint and format check, type check, then every vitest project
 * (unit, then integration against real Kafka, PostgreSQL and Redis). Ends with `N passed, N failed`,
 * counting the two static checks as one test each, and exits non-zero when anything failed.
 * Arguments are passed to vitest (e.g. `./run test --project unit`).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'

const started = performance.now()
const bin = (name: string) => `node_modules/.bin/${name}`
let passed = 0
let failed = 0

function step(title: string, command: string, args: string[]): boolean {
  process.stdout.write(`\n== ${title}\n`)
  const result = spawnSync(command, args, { stdio: 'inherit' })
  return result.status === 0
}

for (const [title, command, args] of [
  ['lint and format (biome)', bin('biome'), ['check', '.']],
  ['type check (tsc)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']],
] as const) {
  if (step(title, command, [...args])) passed++
  else failed++
}

mkdirSync('.runs', { recursive: true })
const report = '.runs/vitest.json'
rmSync(report, { force: true })
const vitestOk = step('tests (vitest)', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
])
try {
  const results = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number
    numFailedTests: number
    numPendingTests: number
    numTodoTests: number
    success: boolean
  }
  passed += results.numPassedTests
  failed += results.numFailedTests
  // A skipped test proves nothing: count it against the run.
  failed += results.numPendingTests + results.numTodoTests
  // A file that failed to load or a failing global setup has no failed test but is a failure.
  if (!vitestOk && results.numFailedTests === 0) failed++
} catch {
  failed++ // vitest crashed before writing its report
}

const seconds = ((performance.now() - started) / 1000).toFixed(1)
process.stdout.write(`\ntest command took ${seconds}s\n${passed} passed, ${failed} failed\n`)
process.exit(failed === 0 ? 0 : 1)
