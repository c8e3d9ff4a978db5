/**
 * A store that is never loaded whole: for partition-local state that grows with history (one entry per
 * coupon holder ever). Before each batch the task declares the keys its records need (the store's key
 * function) and loads the ones not cached in one request; a key asked for and not found is known to be
 * absent, which is cached too. Between batches a bounded LRU cache keeps committed entries.
 */
import { StoreError } from '../errors.ts'
import { BufferedKeyValueStore, deepFreeze } from './key-value.ts'

/** Cached as known-absent: the backend was asked for the key and has no entry. */
const ABSENT = Symbol('absent')

export class KeyedKeyValueStore<V> extends BufferedKeyValueStore<V> {
  /** Committed entries and known-absent keys, least recently used first (a Map keeps insertion order). */
  readonly #cache = new Map<string, V | typeof ABSENT>()
  /** The keys the current batch declared: the only ones it may read. */
  #declared = new Set<string>()
  readonly #maxCached: number

  constructor(name: string, maxCachedEntries: number) {
    super(name)
    this.#maxCached = maxCachedEntries
  }

  /** Starts a batch that may read `keys`; returns the ones to load, which the cache does not hold. */
  declare(keys: Iterable<string>): string[] {
    this.#declared = new Set(keys)
    const missing: string[] = []
    for (const key of this.#declared) {
      const cached = this.#cache.get(key)
      if (cached === undefined) missing.push(key)
      else this.#touch(key, cached)
    }
    return missing
  }

  /** Caches what the backend returned for `keys`; a key it did not return has no entry. */
  loaded(keys: readonly string[], found: ReadonlyMap<string, unknown>): void {
    for (const key of keys) {
      const value = found.get(key)
      this.#cache.set(key, value === undefined ? ABSENT : deepFreeze(value as V))
    }
  }

  /** Drops the batch and the whole cache: what is committed is read again as batches name it. */
  forget(): void {
    this.rollback()
    this.#cache.clear()
  }

  /** Committed entries and known-absent keys in memory now. */
  get cached(): number {
    return this.#cache.size
  }

  protected committedValue(key: string): V | undefined {
    // Reading a key the batch did not declare would answer "absent" for a key that was never loaded,
    // and a decision made on that would be wrong only sometimes (when it happened not to be cached).
    if (!this.#declared.has(key)) {
      throw new StoreError(
        'KEY_NOT_DECLARED',
        `store "${this.name}" is keyed: key "${key}" was not declared for this batch by the store's keys function`,
      )
    }
    const value = this.#cache.get(key)
    return value === ABSENT ? undefined : value
  }

  protected applyCommitted(key: string, value: V | undefined): void {
    this.#touch(key, value === undefined ? ABSENT : value)
  }

  /** Evicts after the overlay is gone, so only committed entries, all clean, are ever evicted. */
  protected override batchEnded(): void {
    this.#declared = new Set()
    for (const key of this.#cache.keys()) {
      if (this.#cache.size <= this.#maxCached) break
      this.#cache.delete(key)
    }
  }

  entries(): IterableIterator<[string, V]> {
    throw this.#notEnumerable('entries()')
  }

  get size(): number {
    throw this.#notEnumerable('size')
  }

  #touch(key: string, value: V | typeof ABSENT): void {
    this.#cache.delete(key)
    this.#cache.set(key, value)
  }

  #notEnumerable(what: string): StoreError {
    return new StoreError(
      'NOT_ENUMERABLE',
      `store "${this.name}" is keyed: ${what} would see only the cached keys, not the store`,
    )
  }
}
