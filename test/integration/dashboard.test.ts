/**
 * Grafana cannot be installed here, so the dashboard is checked the way Grafana would use it: a real
 * Prometheus scrapes the running service, and every panel's query must return data.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { useInfra } from '../support/infra.ts'
import { waitUntil } from '../support/runtime-fixtures.ts'
import {
  freePort,
  type ServiceProcess,
  serviceEnv,
  startService,
  waitForHttp,
} from '../support/service-process.ts'

const infra = useInfra()
const root = new URL('../../', import.meta.url).pathname
// Every dashboard Grafana provisions: the runtime's (commerce-streams.json) and the Shop's (shop.json).
const dashboards = readdirSync(join(root, 'grafana/dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({
    file,
    ...(JSON.parse(readFileSync(join(root, 'grafana/dashboards', file), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>
    }),
  }))
let service: ServiceProcess | undefined
let prometheus: ChildProcess | undefined
const dir = mkdtempSync(join(tmpdir(), 'prom-'))
afterAll(async () => {
  prometheus?.kill('SIGKILL')
  await service?.stop('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

async function query(base: string, expr: string) {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`)
  return (await response.json()) as { status: string; data?: { result: unknown[] }; error?: string }
}

describe('the Grafana dashboards', () => {
  it('should get data for every panel query of every dashboard from a Prometheus that scraped the running service', async () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(['commerce-streams.json', 'shop.json'])
    const appId = infra.name('dash')
    // The service keeps the sales ranking in the shared Redis under the topic prefix.
    infra.ownRedisPrefix(`${appId}.`)
    service = await startService({
      ...serviceEnv(infra, appId),
      ADMIN_TOKEN: 'dashboard-admin-token',
    })
    await waitForHttp(`${service.url}/health/ready`, (status) => status === 200, 60_000)
    // Some traffic for the processors and the HTTP metrics: a user, a coupon, a few issue requests.
    const admin = { 'content-type': 'application/json', authorization: 'Bearer dashboard-admin-token' }
    const user = (await (
      await fetch(`${service.url}/admin/users`, {
        method: 'POST',
        headers: admin,
        body: '{"name":"u","points":1}',
      })
    ).json()) as { userId: number }
    const coupon = (await (
      await fetch(`${service.url}/admin/coupons`, {
        method: 'POST',
        headers: admin,
        body: '{"name":"c","discountType":"AMOUNT","discountValue":1,"totalQuantity":5}',
      })
    ).json()) as { couponId: number }
    const issue = await fetch(`${service.url}/coupons/${coupon.couponId}/issue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: user.userId }),
    })
    expect(issue.status).toBe(202)

    const port = await freePort()
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: commerce-streams\n    static_configs: [{ targets: ['${service.url.replace('http://', '')}'] }]\n`,
    )
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    )
    const base = `http://127.0.0.1:${port}`
    // rate() over [1m] needs two samples, and the backlog gauge is set every 5 s: wait for both.
    await waitUntil(
      'Prometheus has two scrapes and the backlog gauge',
      async () => {
        const up = await query(base, 'count_over_time(up[1m])')
        const backlog = await query(base, 'commerce_outbox_backlog_records')
        return (
          Number((up.data?.result[0] as { value?: [number, string] })?.value?.[1] ?? 0) >= 2 &&
          (backlog.data?.result.length ?? 0) > 0
        )
      },
      60_000,
    )

    const empty: string[] = []
    for (const dashboard of dashboards) {
      for (const panel of dashboard.panels) {
        for (const { expr } of panel.targets) {
          const answer = await query(base, expr)
          expect(answer.status, `${dashboard.file}: ${panel.title}: ${expr}: ${answer.error}`).toBe('success')
          if ((answer.data?.result.length ?? 0) === 0)
            empty.push(`${dashboard.file}: ${panel.title}: ${expr}`)
        }
      }
    }
    expect(empty, 'panel queries that returned no series').toEqual([])
  })
})
