/** How the API answers when the request or a dependency is the problem: stable codes, right statuses. */
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'
import { createDb } from '../../state/db.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
const closers: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const close of closers) await close()
})

async function appWith(db: Awaited<ReturnType<typeof migratedDb>>) {
  const app = await buildApp({
    logger: pino({ level: 'silent' }),
    health: new Health(),
    metrics: createMetrics(),
    shop: { db },
  })
  closers.push(
    () => app.close(),
    () => db.destroy(),
  )
  return app
}

/** POSTs raw bytes with a content type to the issue route. */
const postIssue = (app: Awaited<ReturnType<typeof appWith>>, contentType: string, payload: string) =>
  app.inject({ method: 'POST', url: '/coupons/1/issue', headers: { 'content-type': contentType }, payload })

describe('API error statuses', () => {
  it('should answer 503 DEPENDENCY_UNAVAILABLE, not 500, while PostgreSQL does not answer', async () => {
    // Port 1: nothing listens there, as with a database that is down.
    const app = await appWith(createDb({ url: 'postgres://postgres@127.0.0.1:1/none' }) as never)
    const reply = await app.inject({ method: 'GET', url: '/users/1' })
    expect(reply.statusCode).toBe(503)
    expect(reply.json()).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      message: expect.stringMatching(/ECONNREFUSED/),
    })
  })

  it('should keep 415 for a body that is not JSON and 413 for one that is too large, with their codes', async () => {
    const app = await appWith(await migratedDb(infra.databaseUrl))
    const text = await postIssue(app, 'application/xml', '<userId>1</userId>')
    expect(text.statusCode).toBe(415)
    expect(text.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' })
    const huge = await postIssue(
      app,
      'application/json',
      JSON.stringify({ userId: 1, padding: 'x'.repeat(2 << 20) }),
    )
    expect(huge.statusCode).toBe(413)
    expect(huge.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
  })

  it('should answer 400 VALIDATION_FAILED naming the field for malformed JSON and wrong types, without coercing bodies', async () => {
    const app = await appWith(await migratedDb(infra.databaseUrl))
    const broken = await postIssue(app, 'application/json', '{"userId": ')
    expect(broken.statusCode).toBe(400)
    expect(broken.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
    const asText = await app.inject({ method: 'POST', url: '/coupons/1/issue', payload: { userId: '1' } })
    expect(asText.statusCode).toBe(400)
    expect(asText.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^body\.userId: /),
    })
  })
})
