/** The contract's topic names (CONTRACT.md section 1), exactly the seed's. */
import { dlqTopic } from '../topology/topic-admin.ts'

export const Topics = {
  COUPON_ISSUE: 'coupon-issue-topic',
  COUPON_ISSUE_RESULT: 'coupon-issue-result-topic',
  ORDER_CREATED: 'order-created-topic',
  ORDER_STATUS: 'order-status-topic',
  STOCK_RESTORE: 'stock-restore-topic',
  POINT_RESTORE: 'point-restore-topic',
  COUPON_RESTORE: 'coupon-restore-topic',
} as const

export type TopicName = (typeof Topics)[keyof typeof Topics]

/**
 * The saga's internal topics, named `<applicationId>-<name>` as the library names what a topology
 * declares: each deployment (application id) has its own, so two never read each other's commands.
 */
export const InternalTopics = {
  STOCK_COMMANDS: 'stock-commands',
  USER_COMMANDS: 'user-commands',
  SAGA_REPLIES: 'saga-replies',
} as const

export const internalTopic = (
  applicationId: string,
  name: (typeof InternalTopics)[keyof typeof InternalTopics],
) => `${applicationId}-${name}`

/** Topics a processor reads; each has a `<topic>.dlq` beside it for records it cannot read. */
export const inputTopics: readonly TopicName[] = [
  Topics.COUPON_ISSUE,
  Topics.ORDER_CREATED,
  // Read by the ranking projector (service/ranking-projector.ts), which sends malformed ones here too.
  Topics.ORDER_STATUS,
  Topics.STOCK_RESTORE,
  Topics.POINT_RESTORE,
  Topics.COUPON_RESTORE,
]

export type TopicNames = { readonly [K in keyof typeof Topics]: string }

/**
 * The topic names with a deployment's prefix: empty by default (the contract's names); tests and
 * shared clusters use one so several deployments never read each other's records.
 */
export function topicNames(prefix = ''): TopicNames {
  return Object.freeze(
    Object.fromEntries(Object.entries(Topics).map(([k, t]) => [k, `${prefix}${t}`])) as Record<
      keyof typeof Topics,
      string
    >,
  )
}

/** Every topic the service creates at start-up: the contract's topics and the input topics' DLQs. */
export function allTopics(prefix = ''): string[] {
  return [...Object.values(Topics), ...inputTopics.map(dlqTopic)].map((t) => `${prefix}${t}`)
}
