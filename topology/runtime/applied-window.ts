/**
 * The output ids a task applied within its de-duplication window, in memory: a set to ask, and per
 * source topic a queue in offset order to forget from the front as the partition moves on. It holds
 * what the task committed, nothing more: ids join it only after their batch's commit succeeded.
 *
 * Kept small because it is held for every task all the time (20,000 ids per de-duplicated topic by
 * default): a digest is a 32-character one-byte string (its 32 bytes as latin1), an offset a number in
 * a packed array: 130 bytes of heap per id, 175 while the window slides (dead slots wait for the next
 * compaction), so 2.6-3.5 MB for a full 20,000-id window (test/unit/applied-window.test.ts).
 */
export class AppliedWindow {
  /** Digest → offset of the record that carried it, which tells a forgotten entry from a newer one. */
  readonly #offsets = new Map<string, number>()
  readonly #queues = new Map<string, OffsetQueue>()

  get size(): number {
    return this.#offsets.size
  }

  has(digest: string): boolean {
    return this.#offsets.has(digest)
  }

  /** Adds an id; a topic's ids must come in offset order (the order its batches commit them). */
  add(topic: string, digest: string, offset: number): void {
    let queue = this.#queues.get(topic)
    if (!queue) {
      queue = new OffsetQueue()
      this.#queues.set(topic, queue)
    }
    queue.push(digest, offset)
    this.#offsets.set(digest, offset)
  }

  /** Forgets the topic's ids of records before `start`, the window's first offset. */
  forget(topic: string, start: number): void {
    const queue = this.#queues.get(topic)
    if (!queue) return
    queue.dropBefore(start, (digest, offset) => {
      // The same id may have been applied again after the window had forgotten it once, even on
      // another topic of the task: only the entry this queue put there goes.
      if (this.#offsets.get(digest) === offset) this.#offsets.delete(digest)
    })
  }
}

/** A FIFO of (digest, offset) in two parallel arrays, compacted now and then instead of shifted. */
class OffsetQueue {
  #digests: string[] = []
  #offsets: number[] = []
  #head = 0

  push(digest: string, offset: number): void {
    this.#digests.push(digest)
    this.#offsets.push(offset)
  }

  /** Removes the entries before `start` from the front, handing each to `dropped`. */
  dropBefore(start: number, dropped: (digest: string, offset: number) => void): void {
    while (this.#head < this.#digests.length && this.#offsets[this.#head]! < start) {
      dropped(this.#digests[this.#head]!, this.#offsets[this.#head]!)
      // Let the string go now, not at the next compaction.
      this.#digests[this.#head++] = ''
    }
    // Compacting once half the arrays are dead costs O(1) per entry over time, where shift() is O(n).
    if (this.#head >= 1024 && this.#head * 2 >= this.#digests.length) {
      this.#digests = this.#digests.slice(this.#head)
      this.#offsets = this.#offsets.slice(this.#head)
      this.#head = 0
    }
  }
}
