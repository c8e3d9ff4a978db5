/**
 * Request validation: coercion for path parameters and query strings only, where every value arrives
 * as text ("/users/42"). Bodies are JSON and validated as sent, so `points: null` or `name: 123` is a
 * 400 rather than silently becoming 0 or "123".
 *
 * The route schemas are TypeBox's (api/schemas.ts), which are JSON Schema, so ajv compiles them as they
 * are; the type provider only types the handlers. ajv rather than TypeBox's compiler keeps the messages
 * clients already parse ("body.discountValue: must be <= 100") and ajv-formats' `date-time`.
 */
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

function compiler(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  })
  addFormats.default(ajv)
  return ajv
}

export function installValidation(app: FastifyInstance): void {
  const asSent = compiler(false)
  const fromText = compiler(true)
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? asSent : fromText).compile(schema as object),
  )
}
