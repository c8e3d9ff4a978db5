/**
 * The driver's tasks, one per (processor, partition), opened lazily against the MemoryBackend and
 * dropped on restart, as a crashed process drops them. A batch whose commit failed is run again.
 */
import type { ProcessorNode, Topology } from '../builder.ts'
import type { RawRecord } from '../record.ts'
import { PartitionTask } from '../runtime/task.ts'
import type { MemoryBackend } from './memory-backend.ts'
import type { ProcessSummary, StoppedTask } from './types.ts'

export interface TaskPoolOptions {
  topology: Topology
  backend: MemoryBackend
  owner: string
  clock: () => number
  /** Every topic's partition count (the driver knows them all). */
  partitions: (topic: string) => number
  /** The error a failed commit is retried on; any other error propagates. */
  retryOn: Error
}

export class TaskPool {
  readonly #tasks = new Map<string, PartitionTask>()
  readonly #options: TaskPoolOptions

  constructor(options: TaskPoolOptions) {
    this.#options = options
  }

  get(processor: ProcessorNode, partition: number): PartitionTask | undefined {
    return this.#tasks.get(`${processor.name}/${partition}`)
  }

  /** Creates the task and claims it, loading its committed offsets and stores. */
  async open(processor: ProcessorNode, partition: number): Promise<PartitionTask> {
    const { topology, backend, owner, clock, partitions } = this.#options
    // No real sleeps between attempts of a failing record: the driver's time is its own clock.
    const task = new PartitionTask({
      topology,
      processor,
      partition,
      backend,
      owner,
      clock,
      partitions,
      pause: async () => {},
    })
    await task.open(new Map(topology.sourceTopics(processor).map((t) => [t, 0n])))
    this.#tasks.set(`${processor.name}/${partition}`, task)
    return task
  }

  /** Runs and commits a batch; a failed commit left no trace, so the same batch runs again. */
  async run(task: PartitionTask, batch: readonly RawRecord[], summary: ProcessSummary): Promise<void> {
    for (;;) {
      try {
        const result = await task.runBatch(batch)
        summary.batches++
        summary.consumed += result.consumed
        summary.dlq += result.dlq
        summary.outputs += result.outputs
        summary.duplicates += result.duplicates.length
        return
      } catch (error) {
        if (error !== this.#options.retryOn) throw error
        summary.commitRetries++
      }
    }
  }

  stopped(): StoppedTask[] {
    return [...this.#tasks.values()]
      .filter((t) => t.state === 'stopped')
      .map((t) => ({ processor: t.id.processor, partition: t.id.partition, reason: t.stopReason ?? '' }))
  }

  closeAll(): void {
    for (const task of this.#tasks.values()) task.close()
    this.#tasks.clear()
  }
}
