/**
 * A task's processing loop, as one stream: fetched records flow in, are batched by count or time,
 * committed one batch at a time in partition order, and a failed commit is retried with capped
 * back-off — the same batch again, so nothing is skipped or applied twice (the commit's offset
 * compare-and-set makes a retry of a commit that did land a no-op). It does no I/O itself: the commit
 * is a function returning an observable, so the whole loop runs in virtual time under `TestScheduler`.
 *
 *   arrivals ─ batchRecords (maxBatch | lingerMs) ─ commitInTurn (one at a time) ─ retry (back-off) ─▶ results
 */
import {
  asyncScheduler,
  defer,
  map,
  type Observable,
  retry,
  type SchedulerLike,
  shareReplay,
  take,
  takeUntil,
  takeWhile,
  throwError,
  timer,
} from 'rxjs'
import { type Arrival, type Batch, batchRecords } from './batch-records.ts'
import { commitInTurn } from './commit-in-turn.ts'

export type { Arrival, Batch }

export interface PipelineOptions<R> {
  maxBatch: number
  lingerMs: number
  /** One attempt to commit a batch: emits its result and completes, or errors. */
  commit: (batch: Batch) => Observable<R>
  /** A result after which the task takes no more batches (its error policy stopped it). */
  isLast: (result: R) => boolean
  /** An error no retry can cure (the task was fenced): it ends the pipeline with that error. */
  isFatal: (error: unknown) => boolean
  /** Wait before retry number `attempt` (1, 2, ...) of the same batch. */
  backoff: (attempt: number) => number
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  /**
   * Stops the pipeline: no batch starts after it, a batch waiting for its linger or its turn is dropped,
   * a back-off ends without another attempt; a commit in flight finishes (the output completes after it).
   */
  stop: Observable<unknown>
  scheduler?: SchedulerLike
}

export interface Committed<R> {
  batch: Batch
  result: R
}

export function taskPipeline<R>(
  arrivals: Observable<Arrival>,
  o: PipelineOptions<R>,
): Observable<Committed<R>> {
  const scheduler = o.scheduler ?? asyncScheduler
  // Replayed: a commit that fails after the stop must still see it.
  const stopped = o.stop.pipe(take(1), shareReplay(1))
  const commitWithRetry = (batch: Batch) =>
    defer(() => o.commit(batch)).pipe(
      map((result) => ({ batch, result })),
      retry({
        delay: (error: unknown, attempt: number) => {
          if (o.isFatal(error)) return throwError(() => error)
          const delayMs = o.backoff(attempt)
          o.onRetry?.(error, attempt, delayMs)
          // A back-off cut short by the stop completes without another attempt: the batch stays uncommitted.
          return timer(delayMs, scheduler).pipe(takeUntil(stopped))
        },
      }),
    )
  return arrivals.pipe(
    takeUntil(stopped),
    batchRecords(o.maxBatch, o.lingerMs, scheduler),
    commitInTurn(o.maxBatch, commitWithRetry),
    takeWhile((c) => !o.isLast(c.result), true),
  )
}
