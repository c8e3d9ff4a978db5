/**
 * A stream of records in the DSL, as Kafka Streams' KStream: operators are applied with RxJS's `pipe`,
 * each a function from one stream (or grouped stream) to the next, so they compose and type-check
 * like RxJS operators. A stream is a position in the graph; piping from it twice fans its records out.
 */
import type { Segment, Step, StreamsGraph } from './graph.ts'

/** One operator: takes what the previous one returned (a stream, a grouped stream), returns the next. */
export type Operator<I, O> = (input: I) => O

export class KStream<V> {
  /** The graph, segment and step this stream continues from: for operators, not for topologies. */
  readonly graph: StreamsGraph
  readonly segment: Segment
  readonly step: Step
  /** Never set: it makes `KStream<string>` and `KStream<number>` different types. */
  protected readonly valueType?: V

  constructor(graph: StreamsGraph, segment: Segment, step: Step) {
    this.graph = graph
    this.segment = segment
    this.step = step
  }

  /** The stream of what `step` forwards, attached below this one. */
  through<W>(step: Step): KStream<W> {
    this.graph.attach(this.step, step)
    return new KStream<W>(this.graph, this.segment, step)
  }

  pipe(): KStream<V>
  pipe<A>(op1: Operator<KStream<V>, A>): A
  pipe<A, B>(op1: Operator<KStream<V>, A>, op2: Operator<A, B>): B
  pipe<A, B, C>(op1: Operator<KStream<V>, A>, op2: Operator<A, B>, op3: Operator<B, C>): C
  pipe<A, B, C, D>(
    op1: Operator<KStream<V>, A>,
    op2: Operator<A, B>,
    op3: Operator<B, C>,
    op4: Operator<C, D>,
  ): D
  pipe<A, B, C, D, E>(
    op1: Operator<KStream<V>, A>,
    op2: Operator<A, B>,
    op3: Operator<B, C>,
    op4: Operator<C, D>,
    op5: Operator<D, E>,
  ): E
  pipe<A, B, C, D, E, F>(
    op1: Operator<KStream<V>, A>,
    op2: Operator<A, B>,
    op3: Operator<B, C>,
    op4: Operator<C, D>,
    op5: Operator<D, E>,
    op6: Operator<E, F>,
  ): F
  pipe<A, B, C, D, E, F, G>(
    op1: Operator<KStream<V>, A>,
    op2: Operator<A, B>,
    op3: Operator<B, C>,
    op4: Operator<C, D>,
    op5: Operator<D, E>,
    op6: Operator<E, F>,
    op7: Operator<F, G>,
  ): G
  pipe<A, B, C, D, E, F, G, H>(
    op1: Operator<KStream<V>, A>,
    op2: Operator<A, B>,
    op3: Operator<B, C>,
    op4: Operator<C, D>,
    op5: Operator<D, E>,
    op6: Operator<E, F>,
    op7: Operator<F, G>,
    op8: Operator<G, H>,
  ): H
  pipe(...operators: Array<Operator<never, unknown>>): unknown
  pipe(...operators: Array<Operator<never, unknown>>): unknown {
    // Each operator's input is the previous one's output: the overloads above check the chain.
    return operators.reduce<unknown>((input, op) => op(input as never), this)
  }
}

/** A stream grouped by its key (`groupByKey()`), ready for `count` or `aggregate`. */
export class KGroupedStream<V> {
  readonly stream: KStream<V>

  constructor(stream: KStream<V>) {
    this.stream = stream
  }

  pipe<A>(op1: Operator<KGroupedStream<V>, A>): A
  pipe<A, B>(op1: Operator<KGroupedStream<V>, A>, op2: Operator<A, B>): B
  pipe<A, B, C>(op1: Operator<KGroupedStream<V>, A>, op2: Operator<A, B>, op3: Operator<B, C>): C
  pipe<A, B, C, D>(
    op1: Operator<KGroupedStream<V>, A>,
    op2: Operator<A, B>,
    op3: Operator<B, C>,
    op4: Operator<C, D>,
  ): D
  pipe(...operators: Array<Operator<never, unknown>>): unknown
  pipe(...operators: Array<Operator<never, unknown>>): unknown {
    return operators.reduce<unknown>((input, op) => op(input as never), this)
  }
}
