/**
 * The Processor a DSL segment compiles to: it runs the segment's steps, depth first, on each record
 * of its partition. The task around it is the Processor API's, so batching, retries, the error policy
 * and the exactly-once commit treat DSL topologies and hand-written processors alike.
 */
import type { Processor, ProcessorContext } from '../api.ts'
import type { StreamRecord } from '../record.ts'
import type { Flowing, Step, StepRuntime } from './graph.ts'

export class SegmentProcessor implements Processor<unknown> {
  readonly #root: Step
  readonly #runtimes = new Map<Step, StepRuntime>()

  constructor(root: Step) {
    this.#root = root
    const visit = (step: Step): void => {
      this.#runtimes.set(step, step.instantiate())
      for (const child of step.children) visit(child)
    }
    visit(root)
  }

  init(context: ProcessorContext): void {
    for (const runtime of this.#runtimes.values()) runtime.init?.(context)
  }

  process(record: StreamRecord<unknown>, context: ProcessorContext): void {
    this.#run(this.#root, { record }, context)
  }

  close(): void {
    for (const runtime of this.#runtimes.values()) runtime.close?.()
  }

  #run(step: Step, input: Flowing, context: ProcessorContext): void {
    this.#runtimes.get(step)!.process(input, context, (next, child) => {
      if (child === undefined) for (const c of step.children) this.#run(c, next, context)
      else if (step.children[child]) this.#run(step.children[child], next, context)
    })
  }
}
