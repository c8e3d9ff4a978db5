/** What a PartitionTask is given, and what it reports (task.ts). */
import type { ProcessorNode, Topology } from '../builder.ts'
import type { RecordErrorCode } from '../errors.ts'
import type { StateBackend } from './backend.ts'

export type TaskState = 'new' | 'running' | 'stopped' | 'fenced' | 'closed'

export interface TaskObserver {
  processed?(topic: string, count: number): void
  dlq?(topic: string, code: RecordErrorCode): void
  retried?(topic: string): void
}

export interface TaskOptions {
  topology: Topology
  processor: ProcessorNode
  partition: number
  backend: StateBackend
  owner: string
  clock: () => number
  /** Wait between attempts of a record whose processing threw; the driver passes no wait. */
  pause?: (attempt: number) => Promise<void>
  observer?: TaskObserver
  /**
   * The partition count of a topic, when known (`ProcessorContext.partitionFor`): the runtime's are
   * those of the topics the topology reads; without it every count is unknown.
   */
  partitions?: (topic: string) => number | undefined
}
