import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { Health } from '../../service/health.ts'
import { createMetrics } from '../../service/metrics.ts'

/** The app with a logger at `level` writing into `lines`. */
async function appLogging(level: string) {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const app = await buildApp({
    logger: pino({ level }, sink),
    health: new Health(),
    metrics: createMetrics(),
  })
  return { app, lines }
}

describe('request logging', () => {
  it('should write no line per request at info level', async () => {
    const { app, lines } = await appLogging('info')
    for (let i = 0; i < 3; i++) expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200)
    expect(lines.filter((l) => l.url !== undefined || l.req !== undefined)).toEqual([])
    await app.close()
  })

  it('should write one line per request at debug level, with its method, url, status and time', async () => {
    const { app, lines } = await appLogging('debug')
    await app.inject({ url: '/health/live' })
    await app.inject({ url: '/no/such/route' })
    const requests = lines.filter((l) => l.msg === 'request completed')
    expect(requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        url: '/health/live',
        statusCode: 200,
        ms: expect.any(Number),
      }),
      expect.objectContaining({ method: 'GET', url: '/no/such/route', statusCode: 404 }),
    ])
    await app.close()
  })
})
