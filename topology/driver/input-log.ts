/**
 * The driver's stand-in for the broker's input topics: an append-only log per topic-partition, with
 * consecutive offsets from 0. Every record also gets a driver-wide sequence number, so a task reading
 * several topics receives them in the order they were piped (per topic, that is offset order).
 */
import type { RawRecord, RecordHeaders } from '../record.ts'

interface Entry {
  readonly seq: number
  readonly record: RawRecord
}

export class InputLog {
  readonly #logs = new Map<string, Entry[]>()
  #seq = 0

  append(fields: Omit<RawRecord, 'offset' | 'headers'> & { headers?: RecordHeaders }): RawRecord {
    const log = this.#log(fields.topic, fields.partition)
    const record: RawRecord = Object.freeze({
      ...fields,
      offset: BigInt(log.length),
      headers: Object.freeze({ ...fields.headers }),
    })
    log.push({ seq: this.#seq++, record })
    return record
  }

  /**
   * Up to `limit` records of `partition` at or after each topic's position, merged in pipe order.
   * A topic without a position (the task has not claimed it yet) is read from offset 0.
   */
  pending(
    topics: readonly string[],
    partition: number,
    positions: ReadonlyMap<string, bigint>,
    limit: number,
  ): RawRecord[] {
    const cursors = topics.map((topic) => ({
      log: this.#log(topic, partition),
      at: Number(positions.get(topic) ?? 0n),
    }))
    const batch: RawRecord[] = []
    while (batch.length < limit) {
      let next: (typeof cursors)[number] | undefined
      for (const c of cursors) {
        if (c.at < c.log.length && (!next || c.log[c.at]!.seq < next.log[next.at]!.seq)) next = c
      }
      if (!next) break
      batch.push(next.log[next.at++]!.record)
    }
    return batch
  }

  #log(topic: string, partition: number): Entry[] {
    const key = `${topic}\u0000${partition}`
    let log = this.#logs.get(key)
    if (!log) {
      log = []
      this.#logs.set(key, log)
    }
    return log
  }
}
