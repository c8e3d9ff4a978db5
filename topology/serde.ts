/** Value parsers for sources: bytes in, a validated value out, or a RecordError that names the cause. */
import type { ValueParser } from './api.ts'
import { RecordError } from './errors.ts'
import { describeProblem, findUnstorable } from './storable.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses UTF-8 JSON, then hands the value to `validate`, which returns the typed value or throws
 * `RecordError('VALIDATION_FAILED', 'field: reason')`. Bad bytes, bad JSON and a missing value
 * (a tombstone) throw `RecordError('DESERIALIZATION_FAILED')`; any other error `validate` throws
 * becomes VALIDATION_FAILED. Either way the record goes to the source topic's DLQ. What the parser
 * returns must be storable in PostgreSQL: a string holding NUL or a lone surrogate, or a value nested
 * absurdly deep, is VALIDATION_FAILED too (checked on what `validate` returns, so unknown extra fields
 * stay ignored, whatever they hold). A record declared as a schema needs no `validate` of its own:
 * `jsonSchemaValue(schema)` (schema.ts) derives it.
 *
 * @example
 * builder.source('orders', {
 *   topic: 'order-created-topic',
 *   parse: jsonValue((v) => {
 *     if (typeof v !== 'object' || v === null || typeof (v as { orderId?: unknown }).orderId !== 'string') {
 *       throw new RecordError('VALIDATION_FAILED', 'orderId: must be a string')
 *     }
 *     return v as { orderId: string }
 *   }),
 * })
 */
export function jsonValue<V = unknown>(validate?: (value: unknown) => V): ValueParser<V> {
  return (bytes) => {
    if (bytes === null) throw new RecordError('DESERIALIZATION_FAILED', 'the record has no value')
    let value: unknown
    try {
      value = JSON.parse(utf8.decode(bytes))
    } catch (error) {
      throw new RecordError(
        'DESERIALIZATION_FAILED',
        error instanceof Error ? error.message : String(error),
        {
          cause: error,
        },
      )
    }
    let valid: V
    try {
      valid = validate ? validate(value) : (value as V)
    } catch (error) {
      if (error instanceof RecordError) throw error
      throw new RecordError('VALIDATION_FAILED', error instanceof Error ? error.message : String(error), {
        cause: error,
      })
    }
    const problem = findUnstorable(valid)
    if (problem) throw new RecordError('VALIDATION_FAILED', describeProblem(problem))
    return valid
  }
}
