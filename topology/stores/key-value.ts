/**
 * The in-memory key-value stores behind `KeyValueStore`. A batch's writes go to an overlay over the
 * committed state that the runtime persists in the batch transaction, then merges (commit) or drops
 * (rollback). A journal of each write lets the runtime undo a single failed record inside a batch.
 */
import type { KeyValueStore } from '../api.ts'

const DELETED = Symbol('deleted')
type Slot<V> = V | typeof DELETED

export interface StoreChanges {
  puts: Array<[string, unknown]>
  deletes: string[]
}

/**
 * A batch's writes over some committed state: reads see the overlay first, `commit` merges it into the
 * committed state, `rollback` drops it. Subclasses decide what the committed state is — all of it in a
 * Map (InMemoryKeyValueStore) or the keys batches asked for (KeyedKeyValueStore).
 */
export abstract class BufferedKeyValueStore<V> implements KeyValueStore<V> {
  readonly #overlay = new Map<string, Slot<V>>()
  /** [key, slot before the write (undefined: absent from the overlay)] in write order. */
  readonly #journal: Array<[string, Slot<V> | undefined]> = []

  readonly name: string

  constructor(name: string) {
    this.name = name
  }

  /** The committed value of a key the overlay does not hold. */
  protected abstract committedValue(key: string): V | undefined
  /** Makes a committed batch's write (undefined: a delete) part of the committed state. */
  protected abstract applyCommitted(key: string, value: V | undefined): void
  /** Called when a batch ends (committed or not), with an empty overlay. */
  protected batchEnded(): void {}

  abstract entries(): IterableIterator<[string, V]>
  abstract get size(): number

  get(key: string): V | undefined {
    const slot = this.#overlay.get(key)
    if (slot === DELETED) return undefined
    return slot !== undefined ? slot : this.committedValue(key)
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
    for (const [key, slot] of this.#overlay) this.applyCommitted(key, slot === DELETED ? undefined : slot)
    this.rollback()
  }

  /** The batch did not commit: forget its changes. */
  rollback(): void {
    this.#overlay.clear()
    this.#journal.length = 0
    this.batchEnded()
  }

  /** The batch's writes: a value, or undefined for a delete. */
  protected *overlay(): IterableIterator<[string, V | undefined]> {
    for (const [key, slot] of this.#overlay) yield [key, slot === DELETED ? undefined : slot]
  }

  #write(key: string, slot: Slot<V>): void {
    this.#journal.push([key, this.#overlay.get(key)])
    this.#overlay.set(key, slot)
  }
}

/** A store loaded whole when its task opens: for small state, such as a counter per coupon. */
export class InMemoryKeyValueStore<V> extends BufferedKeyValueStore<V> {
  readonly #committed = new Map<string, V>()

  load(entries: Iterable<[string, V]>): void {
    this.#committed.clear()
    this.rollback()
    for (const [key, value] of entries) this.#committed.set(key, deepFreeze(value))
  }

  protected committedValue(key: string): V | undefined {
    return this.#committed.get(key)
  }

  protected applyCommitted(key: string, value: V | undefined): void {
    if (value === undefined) this.#committed.delete(key)
    else this.#committed.set(key, value)
  }

  *entries(): IterableIterator<[string, V]> {
    const written = new Map(this.overlay())
    for (const [key, value] of this.#committed) if (!written.has(key)) yield [key, value]
    for (const [key, value] of written) if (value !== undefined) yield [key, value]
  }

  get size(): number {
    let size = this.#committed.size
    for (const [key, value] of this.overlay()) {
      const before = this.#committed.has(key)
      if (value === undefined && before) size--
      if (value !== undefined && !before) size++
    }
    return size
  }
}

/** Freezes `value` and all it holds. Walked with `for...in`: `Object.values` made an array per object. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    const object = value as Record<string, unknown>
    for (const name in object) if (Object.hasOwn(object, name)) deepFreeze(object[name])
  }
  return value
}
