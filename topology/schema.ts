/**
 * Value parsers from a TypeBox schema: one definition gives the parser, the JSON Schema (for documents
 * such as OpenAPI) and the TypeScript type (`Static<typeof schema>`), so no record needs hand-written
 * field checks.
 */
import type { StaticDecode, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import type { TLocalizedValidationError } from 'typebox/error'
import type { ValueParser } from './api.ts'
import { RecordError } from './errors.ts'
import { shapeOf } from './schema-shape.ts'
import { jsonValue } from './serde.ts'

/**
 * Parses UTF-8 JSON and validates it against `schema` (compiled once, here). A value that does not
 * match throws `RecordError('VALIDATION_FAILED', '<field>: <reason>')` naming the first failing field
 * (`items[2].name: must be string`). A valid value loses the properties the schema does not declare
 * (unknown fields are ignored, so producers can evolve ahead of consumers), then goes through the
 * schema's codecs (`Type.Decode`), so a field can be normalized where it is declared. Everything else
 * is `jsonValue`'s: bad bytes are DESERIALIZATION_FAILED, and what PostgreSQL cannot store (NUL, lone
 * surrogates, absurd nesting) in the returned value is VALIDATION_FAILED.
 *
 * @example
 * const Order = Type.Object({ orderId: Type.String({ minLength: 1 }), qty: Type.Integer({ minimum: 1 }) })
 * type Order = Static<typeof Order>
 * builder.source('orders', { topic: 'order-created-topic', parse: jsonSchemaValue(Order) })
 */
export function jsonSchemaValue<S extends TSchema>(schema: S): ValueParser<StaticDecode<S>> {
  const validator = Compile(schema)
  const shape = shapeOf(schema)
  return jsonValue((value) => {
    if (!validator.Check(value)) throw validationError(value, validator.Errors(value))
    return shape(value) as StaticDecode<S>
  })
}

/** The first error as a RecordError naming its field. */
function validationError(value: unknown, errors: readonly TLocalizedValidationError[]): RecordError {
  const first = errors[0]
  if (!first) return new RecordError('VALIDATION_FAILED', 'value: does not match the schema')
  const segments = pointerSegments(first.instancePath)
  // A missing property is reported on its object; the field to name is the property itself.
  if (first.keyword === 'required') {
    const [missing] = (first.params as { requiredProperties: string[] }).requiredProperties
    return new RecordError(
      'VALIDATION_FAILED',
      `${fieldPath(value, [...segments, missing ?? '?'])}: is required`,
    )
  }
  return new RecordError('VALIDATION_FAILED', `${fieldPath(value, segments)}: ${first.message}`)
}

/** A JSON Pointer's segments: `/a/0/b~1c` is `a`, `0`, `b/c`. */
const pointerSegments = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))

/**
 * The path in JavaScript style, as topology/storable.ts names fields (`items[0].name`, or `value` for
 * the whole value). A pointer cannot tell an array index from a property named "0", so the value
 * itself is walked to tell them apart.
 */
function fieldPath(value: unknown, segments: readonly string[]): string {
  let path = ''
  let at: unknown = value
  for (const segment of segments) {
    if (Array.isArray(at)) {
      path = `${path}[${segment}]`
    } else {
      path = path ? `${path}.${segment}` : segment
    }
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[segment] : undefined
  }
  return path || 'value'
}
