/**
 * A group assignor that keeps co-partitioned topics together: partition p of every subscribed topic
 * goes to the same member, so a processor reading several topics finds partition p of each in one
 * task (the round-robin default would split them). Members are sorted so every leader computes the
 * same answer.
 */
import type { GroupPartitionsAssigner, GroupPartitionsAssignments } from '@platformatic/kafka'

export const copartitionedAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const memberIds = [...members.keys()].sort()
  const result: GroupPartitionsAssignments[] = memberIds.map((memberId) => ({
    memberId,
    assignments: new Map(),
  }))
  if (result.length === 0) return result
  for (const topic of [...topics].sort()) {
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    for (let partition = 0; partition < count; partition++) {
      const member = result[partition % result.length]!
      const entry = member.assignments.get(topic) ?? { topic, partitions: [] }
      entry.partitions.push(partition)
      member.assignments.set(topic, entry)
    }
  }
  return result
}
