/**
 * The second stage of a task's pipeline: batches are committed one at a time, in order (`concatMap`'s
 * contract), and batches that became ready while a commit was in flight are joined, up to `maxBatch`
 * records, into the next commit. With plain `concatMap` a slow commit would leave a row of small
 * batches behind it (one per linger or per fetch), each paying a whole transaction; joined, a commit
 * takes what piled up during the last one, as a consumer's poll takes what arrived since the last poll.
 */
import { Observable, type OperatorFunction, type Subscription } from 'rxjs'
import { type Batch, joinBatches } from './batch-records.ts'

/** Takes the next commit's batch from the front of `waiting`: whole batches, while they fit in `maxBatch`. */
export function takeJoined(waiting: readonly Batch[], maxBatch: number): { batch: Batch; rest: Batch[] } {
  let batch = waiting[0]!
  let taken = 1
  for (const next of waiting.slice(1)) {
    if (batch.records.length + next.records.length > maxBatch) break
    batch = joinBatches(batch, next)
    taken++
  }
  return { batch, rest: waiting.slice(taken) }
}

/**
 * `commit` runs for one batch at a time. The source completing stops the stage: the commit in flight
 * finishes, batches still waiting are dropped (see `batchRecords` for why dropping is right), then the
 * output completes.
 */
export function commitInTurn<T>(
  maxBatch: number,
  commit: (batch: Batch) => Observable<T>,
): OperatorFunction<Batch, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let waiting: Batch[] = []
      let inFlight: Subscription | undefined
      let busy = false
      let ended = false
      const next = () => {
        if (busy) return
        if (ended) return subscriber.complete()
        if (waiting.length === 0) return
        const { batch, rest } = takeJoined(waiting, maxBatch)
        waiting = rest
        busy = true
        // `busy`, not the subscription, says whether a commit runs: one that completes synchronously
        // completes before `subscribe` returns.
        inFlight = commit(batch).subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            busy = false
            next()
          },
        })
      }
      const subscription = source.subscribe({
        next(batch) {
          waiting.push(batch)
          next()
        },
        error: (error: unknown) => subscriber.error(error),
        complete() {
          ended = true
          waiting = []
          next()
        },
      })
      return () => {
        subscription.unsubscribe()
        inFlight?.unsubscribe()
      }
    })
}
