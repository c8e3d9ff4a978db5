import { defer, map, NEVER, type Observable, tap, throwError, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import type { RawRecord } from '../../topology/record.ts'
import { backoffDelay } from '../../topology/retry.ts'
import type { Arrival, Batch } from '../../topology/runtime/batch-records.ts'
import { type PipelineOptions, taskPipeline } from '../../topology/runtime/task-pipeline.ts'
import { COMMIT_BACKOFF } from '../../topology/runtime/task-runner.ts'

function record(offset: number): RawRecord {
  return {
    topic: 'in',
    partition: 0,
    offset: BigInt(offset),
    key: null,
    value: null,
    timestamp: 0,
    headers: {},
  }
}

/** Records `from`..`to - 1`, and the fetch position `next` (past them, or further past markers). */
function arrival(from: number, to: number, next = to): Arrival {
  const records = Array.from({ length: to - from }, (_, i) => record(from + i))
  return { topic: 'in', records, next: BigInt(next) }
}

/** A batch as the marbles show it: its offsets, and where it moves the position ("0,1,2>3"). */
const label = (batch: Batch) =>
  batch.records.map((r) => r.offset).join(',') + [...batch.advance].map(([, next]) => `>${next}`).join('')

class FencedForTest extends Error {}
const failure = new Error('PostgreSQL is down')

/** A commit that takes `ms` of virtual time; it records when each attempt started and which batch it had. */
function fakeCommit(ms: number, fails: (attempt: number) => Error | undefined = () => undefined) {
  const attempts: Array<{ at: number; batch: string }> = []
  let running = 0
  let mostAtOnce = 0
  const commit = (batch: Batch): Observable<string> => {
    attempts.push({ at: scheduler.now(), batch: label(batch) })
    const error = fails(attempts.length)
    if (error) return throwError(() => error)
    return defer(() => {
      mostAtOnce = Math.max(mostAtOnce, ++running)
      return timer(ms).pipe(
        map(() => label(batch)),
        tap({ complete: () => running-- }),
      )
    })
  }
  return { commit, attempts, mostAtOnce: () => mostAtOnce }
}

let scheduler: TestScheduler

function options(o: Partial<PipelineOptions<string>> & Pick<PipelineOptions<string>, 'commit'>) {
  return {
    maxBatch: 100,
    lingerMs: 10,
    isLast: () => false,
    isFatal: (error: unknown) => error instanceof FencedForTest,
    backoff: (attempt: number) => backoffDelay(attempt - 1, { ...COMMIT_BACKOFF, jitter: 0 }),
    stop: NEVER,
    ...o,
  }
}

function run(test: (helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void) {
  scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected))
  scheduler.run(test)
}

const results = (o: PipelineOptions<string>, arrivals: Observable<Arrival>) =>
  taskPipeline(arrivals, o).pipe(map((c) => c.result))

describe('taskPipeline', () => {
  it('should commit a full batch at once and the rest after the linger, past markers', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(0)
      // Seven records and a transaction marker at 7: two full batches, then the last record with the marker.
      const arrivals = hot<Arrival>('a', { a: arrival(0, 7, 8) })
      expectObservable(results(options({ maxBatch: 3, lingerMs: 100, commit }), arrivals)).toBe(
        '(ab) 96ms c',
        { a: '0,1,2', b: '3,4,5', c: '6>8' },
      )
      scheduler.flush()
      expect(attempts.map((a) => a.at)).toEqual([0, 0, 100])
    })
  })

  it('should wait the linger from the first record, not from the last', () => {
    run(({ hot, expectObservable }) => {
      const { commit } = fakeCommit(0)
      const arrivals = hot<Arrival>('a 3ms b 25ms c', {
        a: arrival(0, 2),
        b: arrival(2, 3),
        c: arrival(3, 4),
      })
      expectObservable(results(options({ lingerMs: 10, commit }), arrivals)).toBe('10ms a 29ms b', {
        a: '0,1,2>3',
        b: '3>4',
      })
    })
  })

  it('should commit a position move without records (a reset past deleted records)', () => {
    run(({ hot, expectObservable }) => {
      const { commit } = fakeCommit(0)
      const arrivals = hot<Arrival>('a', { a: { topic: 'in', records: [], next: 12n } })
      expectObservable(results(options({ lingerMs: 5, commit }), arrivals)).toBe('5ms a', { a: '>12' })
    })
  })

  it('should commit one batch at a time and join the batches that became ready meanwhile', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts, mostAtOnce } = fakeCommit(20)
      // Batches ready at 2, 7, 10 and 14; the first commit runs from 2 to 22.
      const arrivals = hot<Arrival>('a 4ms b 2ms c 3ms d', {
        a: arrival(0, 2),
        b: arrival(2, 3),
        c: arrival(3, 4),
        d: arrival(4, 7),
      })
      expectObservable(results(options({ maxBatch: 5, lingerMs: 2, commit }), arrivals)).toBe(
        '22ms a 19ms b',
        { a: '0,1>2', b: '2,3,4,5,6>7' },
      )
      scheduler.flush()
      expect(attempts).toEqual([
        { at: 2, batch: '0,1>2' },
        { at: 22, batch: '2,3,4,5,6>7' },
      ])
      expect(mostAtOnce()).toBe(1)
    })
  })

  it('should keep a joined commit within maxBatch: a batch that does not fit waits for the next turn', () => {
    run(({ hot, expectObservable }) => {
      const { commit } = fakeCommit(20)
      const arrivals = hot<Arrival>('a 4ms b 4ms c', { a: arrival(0, 2), b: arrival(2, 5), c: arrival(5, 8) })
      expectObservable(results(options({ maxBatch: 5, lingerMs: 1, commit }), arrivals)).toBe(
        '21ms a 19ms b 19ms c',
        { a: '0,1>2', b: '2,3,4>5', c: '5,6,7>8' },
      )
    })
  })

  it('should retry a failed commit with the same batch after 50, 100, 200 ... ms, capped at 5 s', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(0, (attempt) => (attempt <= 8 ? failure : undefined))
      const retries: number[] = []
      const o = options({ lingerMs: 0, commit, onRetry: (_error, _attempt, delay) => retries.push(delay) })
      const arrivals = hot<Arrival>('a', { a: arrival(0, 2) })
      expectObservable(results(o, arrivals)).toBe('11350ms a', { a: '0,1>2' })
      scheduler.flush()
      expect(retries).toEqual([50, 100, 200, 400, 800, 1_600, 3_200, 5_000])
      expect(attempts.map((a) => a.at)).toEqual([0, 50, 150, 350, 750, 1_550, 3_150, 6_350, 11_350])
      expect(new Set(attempts.map((a) => a.batch))).toEqual(new Set(['0,1>2']))
    })
  })

  it('should start the back-off again for the next batch', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(0, (attempt) =>
        attempt === 1 || attempt === 3 ? failure : undefined,
      )
      const arrivals = hot<Arrival>('a 99ms b', { a: arrival(0, 1), b: arrival(1, 2) })
      expectObservable(results(options({ lingerMs: 0, commit }), arrivals)).toBe('50ms a 49ms - 49ms b', {
        a: '0>1',
        b: '1>2',
      })
      scheduler.flush()
      expect(attempts.map((a) => a.at)).toEqual([0, 50, 100, 150])
    })
  })

  it('should end with the error, and no retry, when the task is fenced', () => {
    run(({ hot, expectObservable }) => {
      const fenced = new FencedForTest('another owner')
      const { commit, attempts } = fakeCommit(0, () => fenced)
      const arrivals = hot<Arrival>('a', { a: arrival(0, 1) })
      expectObservable(results(options({ lingerMs: 3, commit }), arrivals)).toBe('3ms #', undefined, fenced)
      scheduler.flush()
      expect(attempts).toHaveLength(1)
    })
  })

  it('should take no batch after the one its error policy stopped on', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(5)
      const arrivals = hot<Arrival>('a 9ms b', { a: arrival(0, 1), b: arrival(1, 2) })
      const o = options({ lingerMs: 1, commit, isLast: (result) => result === '0>1' })
      expectObservable(results(o, arrivals)).toBe('6ms (a|)', { a: '0>1' })
      scheduler.flush()
      expect(attempts).toHaveLength(1)
    })
  })

  it('should drop a batch waiting for its linger when stopped', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(0)
      const arrivals = hot<Arrival>('a', { a: arrival(0, 3) })
      const stop = hot('20ms s')
      expectObservable(results(options({ lingerMs: 50, commit, stop }), arrivals)).toBe('20ms |')
      scheduler.flush()
      expect(attempts).toEqual([])
    })
  })

  it('should finish the commit in flight when stopped, and drop the batch waiting behind it', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(30)
      const arrivals = hot<Arrival>('a 9ms b', { a: arrival(0, 2), b: arrival(2, 3) })
      const stop = hot('15ms s')
      expectObservable(results(options({ lingerMs: 0, commit, stop }), arrivals)).toBe('30ms (a|)', {
        a: '0,1>2',
      })
      scheduler.flush()
      expect(attempts.map((a) => a.batch)).toEqual(['0,1>2'])
    })
  })

  it('should stop retrying when stopped during a back-off', () => {
    run(({ hot, expectObservable }) => {
      const { commit, attempts } = fakeCommit(0, () => failure)
      const arrivals = hot<Arrival>('a', { a: arrival(0, 2) })
      const stop = hot('120ms s')
      expectObservable(results(options({ lingerMs: 0, commit, stop }), arrivals)).toBe('120ms |')
      scheduler.flush()
      expect(attempts.map((a) => a.at)).toEqual([0, 50])
    })
  })
})
