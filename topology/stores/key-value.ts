/**
 * The in-memory key-value store behind `KeyValueStore`. Committed state lives in a Map; a batch's
 * writes go to an overlay that the runtime persists in the batch transaction, then merges (commit) or
 * drops (rollback). A journal of each write lets the runtime undo a single failed record inside a batch.
 */
import type { KeyValueStore } from '../api.ts'

const DELETED = Symbol('deleted')
type Slot<V> = V | typeof DELETED

export interface StoreChanges {
  puts: Array<[string, unknown]>
  deletes: string[]
}

export class InMemoryKeyValueStore<V> implements KeyValueStore<V> {
  readonly #committed = new Map<string, V>()
  readonly #overlay = new Map<string, Slot<V>>()
  /** [key, slot before the write (undefined: absent from the overlay)] in write order. */
  readonly #journal: Array<[string, Slot<V> | undefined]> = []

  readonly name: string

  constructor(name: string) {
    this.name = name
  }

  load(entries: Iterable<[string, V]>): void {
    this.#committed.clear()
    this.rollback()
    for (const [key, value] of entries) this.#committed.set(key, deepFreeze(value))
  }

  get(key: string): V | undefined {
    const slot = this.#overlay.get(key)
    if (slot === DELETED) return undefined
    return slot !== undefined ? slot : this.#committed.get(key)
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  put(key: string, value: V): void {
    if (value === undefined)
      throw new TypeError(`store "${this.name}": undefined is not a value, use delete()`)
    // Frozen, so a processor cannot change a stored value behind the store's back: an in-place change
    // would escape the undo journal and the rollback, and be applied twice on a retry.
    this.#write(key, deepFreeze(value))
  }

  delete(key: string): void {
    this.#write(key, DELETED)
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [key, value] of this.#committed) if (!this.#overlay.has(key)) yield [key, value]
    for (const [key, slot] of this.#overlay) if (slot !== DELETED) yield [key, slot]
  }

  get size(): number {
    let size = this.#committed.size
    for (const [key, slot] of this.#overlay) {
      const before = this.#committed.has(key)
      if (slot === DELETED && before) size--
      if (slot !== DELETED && !before) size++
    }
    return size
  }

  /** A point to undo back to: the journal's length. */
  mark(): number {
    return this.#journal.length
  }

  /** Undoes every write since `mark`, newest first. */
  undoTo(mark: number): void {
    while (this.#journal.length > mark) {
      const [key, previous] = this.#journal.pop()!
      if (previous === undefined) this.#overlay.delete(key)
      else this.#overlay.set(key, previous)
    }
  }

  /** The batch's net changes, to persist. */
  changes(): StoreChanges {
    const changes: StoreChanges = { puts: [], deletes: [] }
    for (const [key, slot] of this.#overlay) {
      if (slot === DELETED) changes.deletes.push(key)
      else changes.puts.push([key, slot])
    }
    return changes
  }

  /** The batch committed: its changes become the committed state. */
  commit(): void {
    for (const [key, slot] of this.#overlay) {
      if (slot === DELETED) this.#committed.delete(key)
      else this.#committed.set(key, slot)
    }
    this.rollback()
  }

  /** The batch did not commit: forget its changes. */
  rollback(): void {
    this.#overlay.clear()
    this.#journal.length = 0
  }

  #write(key: string, slot: Slot<V>): void {
    this.#journal.push([key, this.#overlay.get(key)])
    this.#overlay.set(key, slot)
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
