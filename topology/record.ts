/** An immutable record as a processor sees it: already parsed and validated. */
export interface RecordHeaders {
  readonly [name: string]: string
}

export class StreamRecord<V = unknown> {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly key: string | null
  readonly value: V
  /** Milliseconds since the epoch: the producer's (or broker's) timestamp. */
  readonly timestamp: number
  readonly headers: RecordHeaders

  constructor(fields: {
    topic: string
    partition: number
    offset: bigint
    key: string | null
    value: V
    timestamp: number
    headers?: RecordHeaders
  }) {
    this.topic = fields.topic
    this.partition = fields.partition
    this.offset = fields.offset
    this.key = fields.key
    this.value = fields.value
    this.timestamp = fields.timestamp
    this.headers = Object.freeze({ ...fields.headers })
    Object.freeze(this)
  }

  withValue<W>(value: W): StreamRecord<W> {
    return new StreamRecord({ ...this, value })
  }
}

/** What comes off the wire before parsing: bytes, as the broker stored them. */
export interface RawRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: number
  readonly headers: RecordHeaders
}

/** A record a processor emits to a sink; the runtime adds the topic and delivers it through the outbox. */
export interface OutputRecord {
  readonly key: string | null
  readonly value: unknown
  readonly headers?: RecordHeaders
  /**
   * The output's identity, unique within its sink: the runtime makes its output-id header from it.
   * Give one derived from the input's own identity (a request id) when the same input can arrive
   * twice, so both deliveries produce the same id and consumers keep one. Without it the id is the
   * input's log position, which a re-sent copy of the input does not share.
   */
  readonly id?: string
}
