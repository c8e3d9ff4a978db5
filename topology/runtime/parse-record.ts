/** A raw record's key and value, parsed: the StreamRecord a processor sees, or why it goes to the DLQ. */
import type { ValueParser } from '../api.ts'
import { RecordError } from '../errors.ts'
import { type RawRecord, StreamRecord } from '../record.ts'
import { unstorableReason } from '../storable.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function parseRecord(raw: RawRecord, parse: ValueParser<unknown>): StreamRecord | RecordError {
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
  }
  try {
    return new StreamRecord({ ...raw, key, value: parse(raw.value, key) })
  } catch (error) {
    return error instanceof RecordError ? error : new RecordError('VALIDATION_FAILED', String(error))
  }
}
