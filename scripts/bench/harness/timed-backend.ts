/**
 * PostgreSQL's state backend, timing its lookups and commits (for the benchmarks' "where the time goes"
 * lines); everything else is the backend unchanged.
 */
import { performance } from 'node:perf_hooks'
import { PostgresStateBackend } from '../../../topology/postgres/state-backend.ts'
import type { BatchCommit } from '../../../topology/runtime/backend.ts'

export class TimedBackend extends PostgresStateBackend {
  commits = 0
  commitMs = 0
  lookups = 0
  lookupMs = 0

  override async lookup(name: string, keys: readonly string[]) {
    const started = performance.now()
    try {
      return await super.lookup(name, keys)
    } finally {
      this.lookupMs += performance.now() - started
      this.lookups++
    }
  }

  override async commit(batch: BatchCommit) {
    const started = performance.now()
    const outcome = await super.commit(batch)
    this.commitMs += performance.now() - started
    this.commits++
    return outcome
  }
}
