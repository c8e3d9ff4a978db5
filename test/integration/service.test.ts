import { spawnSync } from 'node:child_process'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { allTopics } from '../../processors/topics.ts'
import { useInfra } from '../support/infra.ts'
import { type ServiceProcess, serviceEnv, startService, waitForHttp } from '../support/service-process.ts'

const infra = useInfra()
const running: ServiceProcess[] = []
const appId = infra.name('svc')
// Its services keep the sales ranking in the shared Redis under the topic prefix.
infra.ownRedisPrefix(`${appId}.`)
afterAll(async () => {
  for (const service of running) await service.stop('SIGKILL')
})

async function start(env: Record<string, string> = {}) {
  const service = await startService({
    // Its own group and topics: other test files run services on the same broker at the same time.
    ...serviceEnv(infra, appId),
    ...env,
  })
  running.push(service)
  return service
}

describe('service skeleton', () => {
  it('should become ready with PostgreSQL, Redis and Kafka checked, migrate, create topics and stop on SIGTERM', async () => {
    const service = await start()
    const { body } = await waitForHttp(`${service.url}/health/ready`, (status) => status === 200)
    expect(body).toMatchObject({
      status: 'ready',
      components: {
        postgres: { ok: true },
        redis: { ok: true },
        kafka: { ok: true },
        processors: { ok: true },
        relay: { ok: true },
      },
    })
    const topology = (await fetch(`${service.url}/topology`).then((r) => r.json())) as {
      sources: Array<{ topic: string }>
      processors: Array<{ name: string; operators: Array<{ kind: string; name: string }> }>
      topics: Array<{ topic: string; internal: boolean }>
      mermaid: string
      instance: { owned: Array<{ processor: string; partition: number }> }
    }
    const contract = (t: string) => `${appId}.${t}`
    const internal = (t: string) => `${appId}-${t}`
    expect(topology.sources.map((s) => s.topic)).toEqual([
      contract('coupon-issue-topic'),
      internal('stock-commands'),
      contract('stock-restore-topic'),
      internal('user-commands'),
      contract('point-restore-topic'),
      contract('coupon-restore-topic'),
      contract('order-created-topic'),
      internal('saga-replies'),
    ])
    expect(topology.mermaid).toContain('flowchart LR')
    // Every processor is a DSL pipeline: every operator shows, and every topic, the saga's own internal.
    expect(topology.processors.map((p) => [p.name, p.operators.map((o) => `${o.kind}:${o.name}`)])).toEqual([
      ['coupon-issuer', ['source:issue-requests', 'process:issue-coupons', 'to:to-1']],
      ['stock-owner', ['source:stock-commands', 'process:own-stock']],
      ['user-owner', ['source:user-commands', 'process:own-points-and-coupons']],
      ['order-saga', ['source:orders', 'process:run-order-sagas']],
    ])
    const shown = new Map(topology.topics.map((t) => [t.topic, t.internal]))
    for (const t of ['stock-commands', 'user-commands', 'saga-replies'])
      expect(shown.get(internal(t))).toBe(true)
    // The ranking projector reads the status topic outside the topology: its DLQ is the service's own.
    const projectorDlq = `${appId}.order-status-topic.dlq`
    for (const t of allTopics(`${appId}.`).filter((t) => t !== projectorDlq))
      expect([t, shown.get(t)]).toEqual([t, false])
    expect(shown.has(projectorDlq)).toBe(false)
    expect(topology.instance.owned.map((t) => `${t.processor}/${t.partition}`).sort()).toEqual(
      ['coupon-issuer', 'order-saga', 'stock-owner', 'user-owner'].flatMap((p) =>
        [0, 1, 2].map((n) => `${p}/${n}`),
      ),
    )
    await expect(fetch(`${service.url}/health/live`).then((r) => r.json())).resolves.toEqual({
      status: 'live',
    })

    const metrics = await fetch(`${service.url}/metrics`).then((r) => r.text())
    expect(metrics).toContain('process_resident_memory_bytes')
    expect(metrics).toContain('nodejs_eventloop_lag_p99_seconds')
    expect(metrics).toContain('commerce_ready{component="kafka"} 1')
    expect(metrics).toMatch(
      /commerce_http_requests_total\{method="GET",route="\/health\/ready",status_code="200"\} [1-9]/,
    )

    // The migrations ran on the file's own database, and every contract topic exists.
    await waitForHttp(`${service.url}/health/ready`, () => true)
    const client = new pg.Client({ connectionString: infra.databaseUrl })
    await client.connect()
    const { rows } = await client.query(
      `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    )
    await client.end()
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['kysely_migration', 'outbox', 'stream_offsets']),
    )
    const topics = await infra.admin.listTopics()
    expect(topics).toEqual(expect.arrayContaining(allTopics(`${appId}.`)))

    const openapi = (await fetch(`${service.url}/docs/json`).then((r) => r.json())) as { paths: object }
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/health/ready', '/metrics']))

    const { code, ms } = await service.stop('SIGTERM')
    expect(code).toBe(0)
    expect(ms).toBeLessThan(10_000)
  })

  it('should report not ready with the failing part named while Redis is unreachable', async () => {
    const service = await start({ REDIS_URL: 'redis://127.0.0.1:1' })
    const { body } = await waitForHttp(
      `${service.url}/health/ready`,
      // Once the processors joined their group, Redis is the only part left failing.
      (status, b) =>
        status === 503 &&
        (b as { components?: { processors?: { ok: boolean } } }).components?.processors?.ok === true,
    )
    expect(body).toMatchObject({
      status: 'not_ready',
      code: 'DEPENDENCY_UNAVAILABLE',
      failing: ['redis'],
      components: {
        postgres: { ok: true },
        kafka: { ok: true },
        processors: { ok: true },
        redis: { ok: false },
      },
    })
    expect((body as { message: string }).message).toMatch(/^redis: /)
    const metrics = await fetch(`${service.url}/metrics`).then((r) => r.text())
    expect(metrics).toContain('commerce_ready{component="redis"} 0')
  })

  it('should refuse to start on bad configuration, naming each variable', () => {
    const result = spawnSync(process.execPath, ['service/main.ts'], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { ...process.env, PORT: 'eighty', KAFKA_BROKERS: 'nowhere', ROLE: 'everything' },
      encoding: 'utf8',
      timeout: 20_000,
    })
    expect(result.status).toBe(78)
    expect(result.stderr).toContain('PORT: expected an integer')
    expect(result.stderr).toContain('KAFKA_BROKERS: expected host:port')
    expect(result.stderr).toContain('ROLE: expected one of api, processors, all')
  })
})
