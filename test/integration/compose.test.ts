/**
 * Checks docker-compose.yml and the files it mounts without Docker: the machines that run CI have no
 * Docker engine, so a broken compose file would otherwise only show on a user's machine.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const root = new URL('../../', import.meta.url)
const repoPath = (relative: string): string => fileURLToPath(new URL(relative, root))
const readText = (relative: string): string => readFileSync(repoPath(relative), 'utf8')
const readYaml = (relative: string): unknown => parse(readText(relative))

/** The configuration variables of CONTRACT.md section 4; `ROLE` is "the instance's role". */
const CONTRACT_VARIABLES = [
  'KAFKA_BROKERS',
  'DATABASE_URL',
  'REDIS_URL',
  'PORT',
  'ADMIN_TOKEN',
  'LOG_LEVEL',
  'ROLE',
] as const
const EXPECTED_SERVICES = ['kafka', 'postgres', 'redis', 'prometheus', 'grafana', 'app'] as const
const DATASOURCE_UID = 'prometheus'

type Dict = Record<string, string | number | boolean | null>
type VolumeEntry = string | { type: string; source?: string; target?: string; read_only?: boolean }
interface Service {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  environment?: Dict | string[]
  ports?: (string | number | { target: number | string; published?: number | string })[]
  volumes?: VolumeEntry[]
  depends_on?: string[] | Record<string, { condition: string }>
  healthcheck?: { test?: string | string[] }
}
interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

interface Mount {
  kind: 'bind' | 'volume'
  source: string
  target: string
}

const compose = readYaml('docker-compose.yml') as ComposeFile
const service = (name: string): Service => {
  const found = compose.services[name]
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`)
  return found
}

/** Both volume syntaxes: `SOURCE:TARGET[:MODE]` and `{ type, source, target }`. */
function mounts(svc: Service): Mount[] {
  return (svc.volumes ?? []).map((entry): Mount => {
    if (typeof entry === 'string') {
      const [source = '', target = ''] = entry.split(':')
      const kind = source.startsWith('.') || source.startsWith('/') ? 'bind' : 'volume'
      return { kind, source, target }
    }
    return {
      kind: entry.type === 'bind' ? 'bind' : 'volume',
      source: entry.source ?? '',
      target: entry.target ?? '',
    }
  })
}

function environment(svc: Service): Map<string, string> {
  const env = svc.environment ?? {}
  if (Array.isArray(env)) {
    return new Map(env.map((item) => [item.split('=')[0] ?? item, item.slice(item.indexOf('=') + 1)]))
  }
  return new Map(Object.entries(env).map(([name, value]) => [name, String(value ?? '')]))
}

/** Container ports a service publishes, from `[HOST_IP:][HOST:]CONTAINER[/PROTO]` or `{ target }`. */
function containerPorts(svc: Service): number[] {
  return (svc.ports ?? []).map((port) => {
    if (typeof port === 'object') return Number(port.target)
    return Number(String(port).split('/')[0]?.split(':').at(-1))
  })
}

/** The host bind mount whose container target is `target`, as a repo-relative path. */
function bindSourceFor(svc: Service, target: string): string {
  const mount = mounts(svc).find((m) => m.kind === 'bind' && m.target === target)
  if (!mount) throw new Error(`no bind mount onto ${target}`)
  return mount.source
}

const isFile = (relative: string): boolean =>
  existsSync(repoPath(relative)) && statSync(repoPath(relative)).isFile()
const isDirectory = (relative: string): boolean =>
  existsSync(repoPath(relative)) && statSync(repoPath(relative)).isDirectory()

describe('docker-compose.yml', () => {
  it('docker-compose.yml should validate against the Compose specification schema', () => {
    const schema = JSON.parse(readText('test/fixtures/compose-spec.json')) as Record<string, unknown>
    expect(schema.$schema).toMatch(/draft-07/)
    // The schema names its meta-schema by an https URL that Ajv does not register (it knows
    // draft-07 as http://json-schema.org/draft-07/schema): the keywords are draft-07 either way.
    const body = { ...schema }
    delete body.$schema
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false })
    const validate = ajv.compile(body)
    const valid = validate(compose)
    expect(ajv.errorsText(validate.errors, { separator: '\n' }), 'schema errors').toBe('No errors')
    expect(valid).toBe(true)
  })

  it('docker-compose.yml should define every service of the stack', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining([...EXPECTED_SERVICES]))
  })

  it('docker-compose.yml should mount only repository files that exist, and only declared named volumes', () => {
    const declared = Object.keys(compose.volumes ?? {})
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const mount of mounts(svc)) {
        if (mount.kind === 'bind') {
          expect(mount.source, `${name} mounts ${mount.source}: only paths inside the repo`).toMatch(/^\.\//)
          expect(existsSync(repoPath(mount.source)), `${name} mounts ${mount.source}, which is missing`).toBe(
            true,
          )
        } else {
          expect(declared, `${name} uses the volume ${mount.source}`).toContain(mount.source)
        }
      }
    }
  })

  it('docker-compose.yml should give the app only the configuration variables of the contract', () => {
    const names = [...environment(service('app')).keys()]
    for (const name of names) expect(CONTRACT_VARIABLES, `app environment ${name}`).toContain(name)
    expect(names).toEqual(expect.arrayContaining(['KAFKA_BROKERS', 'DATABASE_URL', 'REDIS_URL', 'PORT']))
  })

  it('docker-compose.yml should name only variables the service configuration reads', () => {
    // A variable the config module does not read would be silently ignored by the app.
    const config = readText('service/config.ts')
    for (const name of environment(service('app')).keys()) {
      expect(config.includes(`'${name}'`), `service/config.ts reads ${name}`).toBe(true)
    }
  })

  it('docker-compose.yml should point the app at the kafka, postgres and redis services', () => {
    const env = environment(service('app'))
    const kafkaAdvertised = environment(service('kafka')).get('KAFKA_ADVERTISED_LISTENERS') ?? ''
    for (const broker of (env.get('KAFKA_BROKERS') ?? '').split(',')) {
      expect(kafkaAdvertised, `KAFKA_BROKERS ${broker} is a listener kafka advertises`).toContain(
        `//${broker}`,
      )
    }

    const database = new URL(env.get('DATABASE_URL') ?? '')
    const postgresEnv = environment(service('postgres'))
    expect(database.hostname).toBe('postgres')
    expect(database.pathname).toBe(`/${postgresEnv.get('POSTGRES_DB')}`)
    expect(database.username).toBe(postgresEnv.get('POSTGRES_USER') ?? 'postgres')
    expect(database.password).toBe(postgresEnv.get('POSTGRES_PASSWORD'))

    expect(new URL(env.get('REDIS_URL') ?? '').hostname).toBe('redis')
  })

  it('docker-compose.yml should start the app only once kafka, postgres and redis are healthy', () => {
    const dependsOn = service('app').depends_on
    expect(Array.isArray(dependsOn), 'depends_on with conditions, not a bare list').toBe(false)
    for (const name of ['kafka', 'postgres', 'redis']) {
      expect((dependsOn as Record<string, { condition: string }>)[name]?.condition, name).toBe(
        'service_healthy',
      )
      expect(service(name).healthcheck?.test, `${name} has a healthcheck`).toBeDefined()
    }
    // node:24-slim has no curl or wget: the app's own Node asks its readiness endpoint.
    const appCheck = [service('app').healthcheck?.test ?? []].flat()
    expect(appCheck.slice(0, 2)).toEqual(['CMD', 'node'])
    expect(appCheck.join(' ')).toContain(`:${environment(service('app')).get('PORT')}/health/ready`)
  })

  it("docker-compose.yml should have Prometheus scrape the app's port and load its alert rules", () => {
    const app = service('app')
    const port = Number(environment(app).get('PORT'))
    expect(containerPorts(app)).toContain(port)

    const prometheus = service('prometheus')
    const configSource = bindSourceFor(prometheus, '/etc/prometheus/prometheus.yml')
    const config = readYaml(configSource) as {
      rule_files?: string[]
      scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }[]
    }
    const job = config.scrape_configs.find((c) => c.job_name === 'commerce-streams')
    expect(job, 'scrape job commerce-streams').toBeDefined()
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics')
    expect(job?.static_configs?.flatMap((c) => c.targets)).toContain(`app:${port}`)

    // rule_files are relative to the config file, in the container as in the repo.
    for (const ruleFile of config.rule_files ?? []) {
      expect(bindSourceFor(prometheus, `/etc/prometheus/${ruleFile}`)).toBe(
        `./grafana/prometheus/${ruleFile}`,
      )
    }
  })

  it('docker-compose.yml should bind-mount grafana paths that exist, as files or folders as used', () => {
    for (const svc of [service('prometheus'), service('grafana')]) {
      for (const mount of mounts(svc).filter((m) => m.kind === 'bind')) {
        expect(mount.source, 'monitoring files live under grafana/').toMatch(/^\.\/grafana\//)
        const asFile = /\.ya?ml$|\.json$/.test(mount.target)
        expect(asFile ? isFile(mount.source) : isDirectory(mount.source), `${mount.source}`).toBe(true)
      }
    }
    const provisioning = bindSourceFor(service('grafana'), '/etc/grafana/provisioning')
    expect(isDirectory(`${provisioning}/datasources`)).toBe(true)
    expect(isDirectory(`${provisioning}/dashboards`)).toBe(true)
  })

  it('docker-compose.yml should provision the Prometheus datasource with uid prometheus', () => {
    const grafana = service('grafana')
    const provisioning = bindSourceFor(grafana, '/etc/grafana/provisioning')
    const file = readYaml(`${provisioning}/datasources/prometheus.yml`) as {
      datasources: { uid: string; type: string; url: string }[]
    }
    const datasource = file.datasources.find((d) => d.uid === DATASOURCE_UID)
    expect(datasource?.type).toBe('prometheus')
    const url = new URL(datasource?.url ?? '')
    expect(url.hostname).toBe('prometheus')
    expect(compose.services[url.hostname]).toBeDefined()
    expect(url.port).toBe('9090')
  })

  it('docker-compose.yml should load dashboards whose every panel queries the datasource uid prometheus', () => {
    const grafana = service('grafana')
    const provisioning = bindSourceFor(grafana, '/etc/grafana/provisioning')
    const providers = (
      readYaml(`${provisioning}/dashboards/dashboards.yml`) as { providers: { options: { path: string } }[] }
    ).providers
    expect(providers.length).toBeGreaterThan(0)

    for (const provider of providers) {
      const dashboards = bindSourceFor(grafana, provider.options.path)
      const files = readdirSync(repoPath(dashboards)).filter((f) => f.endsWith('.json'))
      expect(files.length, `${dashboards} holds dashboards`).toBeGreaterThan(0)
      for (const file of files) {
        const dashboard = JSON.parse(readText(`${dashboards}/${file}`)) as {
          uid: string
          schemaVersion: number
          panels: {
            title: string
            description?: string
            datasource?: { uid?: string }
            targets?: { expr?: string; datasource?: { uid?: string } }[]
          }[]
        }
        expect(dashboard.uid, file).toMatch(/^[A-Za-z0-9_-]{1,40}$/)
        expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
        expect(dashboard.panels.length).toBeGreaterThan(0)
        for (const panel of dashboard.panels) {
          expect(panel.description, `${file}: "${panel.title}" explains itself`).toBeTruthy()
          expect(panel.datasource?.uid, `${file}: "${panel.title}" datasource`).toBe(DATASOURCE_UID)
          expect(panel.targets?.length, `${file}: "${panel.title}" has queries`).toBeGreaterThan(0)
          for (const target of panel.targets ?? []) {
            expect(target.datasource?.uid, `${file}: "${panel.title}" target datasource`).toBe(DATASOURCE_UID)
            expect(target.expr, `${file}: "${panel.title}" target expr`).toBeTruthy()
          }
        }
      }
    }
  })

  it('docker-compose.yml should build the app from a Dockerfile that runs service/main.ts on Node 24', () => {
    const build = service('app').build
    const context = typeof build === 'string' ? build : (build?.context ?? '.')
    const dockerfile = typeof build === 'string' ? 'Dockerfile' : (build?.dockerfile ?? 'Dockerfile')
    expect(context).toBe('.')
    const text = readText(dockerfile)
    expect(text).toMatch(/^FROM node:24(-slim)?\b/m)
    expect(text).toMatch(/^RUN npm ci\b/m)
    // Node's own flags may come first (the heap limits the service runs with).
    expect(text).toMatch(/^CMD \["node", (?:"--[^"]+", )*"service\/main\.ts"\]$/m)
    expect(isFile('service/main.ts')).toBe(true)
    const ignored = readText('.dockerignore').split('\n')
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.cache', '.kafka', '.git']))
  })
})

describe('package-lock.json', () => {
  it("should list every platform's optional packages, so the Dockerfile's `npm ci` accepts it on any machine", () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>
    }
    const missing: string[] = []
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        if (!lock.packages[`node_modules/${name}`] && !lock.packages[`${path}/node_modules/${name}`])
          missing.push(name)
      }
    }
    // npm 11.19 drops them when a package is added to an installed tree: regenerate the lockfile from a
    // clean folder (`rm -rf node_modules && npm install`) if this fails.
    expect(missing).toEqual([])
  })
})
