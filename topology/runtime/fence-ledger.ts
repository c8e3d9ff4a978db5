/**
 * The tasks this instance was fenced out of, and when it may claim them again.
 *
 * A claim is only as good as the group assignment it was made from. A task fenced while the
 * assignment that gave it to us is still the latest one we know was taken by someone the group sent
 * there in a generation we have not seen yet (we are the zombie, and our heartbeat will say so), or by
 * a zombie acting on an older one. Claiming it back from that same assignment is how two instances
 * fence each other in turn, so we stay out until the next group join hands out fresh assignments.
 *
 * One case differs: a task whose claim predates the latest join (its runner was kept across a
 * rebalance) can be fenced by an owner from a generation between that claim and the join. The latest
 * assignment gives the task to us after that owner's, so we claim again — once a heartbeat sent after
 * the fence has been answered, which proves that assignment is still the group's current one.
 */
export class FenceLedger {
  /** Group joins seen so far: the "generation" a claim was made in, as this instance counts them. */
  #joins = 0
  readonly #fenced = new Map<string, { claimedIn: number; heartbeatSent: boolean }>()

  get joins(): number {
    return this.#joins
  }

  /** A new assignment: every earlier fence is superseded by it. */
  joined(): void {
    this.#joins++
    this.#fenced.clear()
  }

  fenced(task: string, claimedIn: number): void {
    this.#fenced.set(task, { claimedIn, heartbeatSent: false })
  }

  /** Whether the task must not be claimed now. */
  blocks(task: string): boolean {
    return this.#fenced.has(task)
  }

  tasks(): string[] {
    return [...this.#fenced.keys()]
  }

  heartbeatSent(): void {
    for (const entry of this.#fenced.values()) entry.heartbeatSent = true
  }

  /** A heartbeat succeeded: releases the tasks that the current assignment gives us after their fence. */
  heartbeatAnswered(): string[] {
    const released = [...this.#fenced]
      .filter(([, e]) => e.heartbeatSent && e.claimedIn < this.#joins)
      .map(([task]) => task)
    for (const task of released) this.#fenced.delete(task)
    return released
  }
}
