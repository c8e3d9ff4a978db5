/** A raw record's key and value, parsed: the StreamRecord a processor sees, or why it goes to the DLQ. */
import type { ValueParser } from '../api.ts'
import { RecordError } from '../errors.ts'
import { partitionForKey } from '../partitioner.ts'
import { type RawRecord, StreamRecord } from '../record.ts'
import { unstorableReason } from '../storable.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * `keyPartitions`: the topic's partition count, when its keys are owned by partition (a source's
 * `keyOwned`); a keyed record on another partition than its key's is then refused.
 */
export function parseRecord(
  raw: RawRecord,
  parse: ValueParser<unknown>,
  keyPartitions?: number,
): StreamRecord | RecordError {
  let key: string | null = null
  if (raw.key !== null) {
    // Keys are UTF-8 strings by contract; a lossy decode would hand the processor a key that is not
    // the one on the wire, and a NUL could not be stored in a store's text key.
    try {
      key = utf8.decode(raw.key)
    } catch {
      return new RecordError('DESERIALIZATION_FAILED', 'key: the bytes are not UTF-8')
    }
    const reason = unstorableReason(key)
    if (reason) return new RecordError('VALIDATION_FAILED', `key: ${reason}`)
    if (keyPartitions !== undefined) {
      const owner = partitionForKey(key, keyPartitions)
      if (owner !== raw.partition)
        return new RecordError(
          'WRONG_PARTITION',
          `key "${key}" belongs to partition ${owner} of ${keyPartitions}, not ${raw.partition} (the Java client's murmur2 partitioner)`,
        )
    }
  }
  try {
    return new StreamRecord({ ...raw, key, value: parse(raw.value, key) })
  } catch (error) {
    return error instanceof RecordError ? error : new RecordError('VALIDATION_FAILED', String(error))
  }
}
