/** The admin bearer token check, as an `onRequest` hook for the routes registered beside it. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { CommerceError } from '../service/errors.ts'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

/** The OpenAPI security requirement of routes behind `requireBearer` (scheme declared in app.ts). */
export const adminSecurity = [{ adminToken: [] }]

/**
 * Refuses, with 401 UNAUTHORIZED, every request of this (encapsulated) instance that does not carry
 * `Authorization: Bearer <token>`. Runs before the body is parsed, so an anonymous caller learns
 * nothing from validation errors. Digests are compared, so the comparison takes the same time
 * whatever the token's length or its first wrong character.
 */
export function requireBearer(app: FastifyInstance, token: string): void {
  const expected = digest(token)
  app.addHook('onRequest', async (request, reply) => {
    // The scheme name is case-insensitive (RFC 9110); the token is not.
    const presented = /^bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1]
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      reply.header('www-authenticate', 'Bearer realm="admin"')
      throw new CommerceError('UNAUTHORIZED', 'an Authorization: Bearer <admin token> header is required')
    }
  })
}
