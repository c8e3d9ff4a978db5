/** Topic administration the runtime and applications share: DLQ names, creating missing topics. */
import type { Admin } from '@platformatic/kafka'

/** Where records a processor cannot read go: `<topic>.dlq`, beside the topic. */
export const dlqTopic = (topic: string): string => `${topic}.dlq`

/**
 * Creates every missing topic with `partitions` partitions. Existing topics are left as they are: a
 * partition count cannot shrink, and growing it would move keys, which breaks per-key order.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly string[],
  partitions: number,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const missing = topics.filter((t) => !existing.has(t))
  if (missing.length === 0) return []
  try {
    await admin.createTopics({ topics: missing, partitions, replicas: 1 })
  } catch (error) {
    // Another instance may have created some of them between our list and create: check again.
    const now = new Set(await admin.listTopics())
    if (missing.some((t) => !now.has(t))) throw error
  }
  return missing
}
