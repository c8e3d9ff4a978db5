/**
 * Start-up guard: partition-local state (a coupon's counters, a user's points) belongs to the partition
 * its key hashes to. Adding partitions to a source topic moves keys to other partitions, so a coupon's
 * later requests would be decided by a task that never saw its earlier ones. The runtime refuses to
 * start instead; the operator re-partitions deliberately (new application id, replayed state).
 */

/** One problem per source topic whose current partition count differs from the stored one. */
export function partitionCountProblems(
  applicationId: string,
  current: ReadonlyMap<string, number>,
  stored: ReadonlyMap<string, number>,
): string[] {
  const problems: string[] = []
  for (const [topic, now] of current) {
    const then = stored.get(topic)
    if (then !== undefined && then !== now) {
      problems.push(
        `source topic "${topic}": the stored state was built with ${then} partitions but the topic now has ${now}; ` +
          `keys would move to other partitions and split their state, so "${applicationId}" will not start on it`,
      )
    }
  }
  return problems
}
