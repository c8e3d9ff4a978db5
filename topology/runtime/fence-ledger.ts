/**
 * The tasks this instance was fenced out of, and when it may claim them again.
 *
 * A claim is only as good as the group assignment it was made from. When another owner fences us,
 * either we are the zombie (the group moved the task in a generation we have not seen yet) or the
 * other owner is (it acted on an assignment the group has since replaced). Claiming back at once, or
 * on a timer, from the assignment we hold is how two instances fence each other in turn. So we stay
 * out until the group tells us which it is:
 * - a new group join hands out fresh assignments, which supersede every fence;
 * - a heartbeat SENT AFTER the fence and answered without error proves our generation is still the
 *   group's current one (a member of an older generation gets ILLEGAL_GENERATION, and one during a
 *   rebalance REBALANCE_IN_PROGRESS): the task is ours in the current assignment and the other
 *   owner is the zombie, so we claim again. Waiting for a join instead would leave the partition idle
 *   for good when that zombie dies before it rejoins — no rebalance would ever come.
 */
export class FenceLedger {
  /** Fenced tasks, and whether a heartbeat has been sent since the fence. */
  readonly #fenced = new Map<string, { heartbeatSent: boolean }>()

  /** A new assignment: every earlier fence is superseded by it. */
  joined(): void {
    this.#fenced.clear()
  }

  fenced(task: string): void {
    this.#fenced.set(task, { heartbeatSent: false })
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

  /** A heartbeat succeeded: releases the tasks fenced before it was sent. */
  heartbeatAnswered(): string[] {
    const released = [...this.#fenced].filter(([, e]) => e.heartbeatSent).map(([task]) => task)
    for (const task of released) this.#fenced.delete(task)
    return released
  }
}
