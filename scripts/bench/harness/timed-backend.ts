/**
 * A StateBackend that times its inner backend's lookups and commits (for the benchmarks' "where the
 * time goes" lines) and passes everything else through unchanged.
 */
import { performance } from 'node:perf_hooks'
import { StreamsError } from '../../../topology/errors.ts'
import type { BatchCommit, StateBackend, TaskId } from '../../../topology/runtime/backend.ts'

export class TimedBackend implements StateBackend {
  readonly #inner: StateBackend
  commits = 0
  commitMs = 0
  lookups = 0
  lookupMs = 0

  constructor(inner: StateBackend) {
    this.#inner = inner
  }

  claim(task: TaskId, owner: string, fallback: ReadonlyMap<string, bigint>) {
    return this.#inner.claim(task, owner, fallback)
  }

  loadStore(task: TaskId, store: string) {
    return this.#inner.loadStore(task, store)
  }

  loadKeys(task: TaskId, store: string, keys: readonly string[]) {
    return this.#inner.loadKeys(task, store, keys)
  }

  appliedIds(task: TaskId, digests: readonly string[]) {
    if (!this.#inner.appliedIds)
      throw new StreamsError('NO_READER', 'the wrapped backend cannot de-duplicate')
    return this.#inner.appliedIds(task, digests)
  }

  sourcePartitions(applicationId: string, counts: ReadonlyMap<string, number>) {
    return this.#inner.sourcePartitions?.(applicationId, counts) ?? Promise.resolve(new Map(counts))
  }

  async lookup(name: string, keys: readonly string[]) {
    if (!this.#inner.lookup)
      throw new StreamsError('NO_READER', `the wrapped backend cannot serve lookup "${name}"`)
    const started = performance.now()
    try {
      return await this.#inner.lookup(name, keys)
    } finally {
      this.lookupMs += performance.now() - started
      this.lookups++
    }
  }

  async commit(batch: BatchCommit) {
    const started = performance.now()
    const outcome = await this.#inner.commit(batch)
    this.commitMs += performance.now() - started
    this.commits++
    return outcome
  }
}
