import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { NODE_ENV_VARS, NODE_FLAGS } from '../../scripts/bench/harness/bench.ts'

const root = new URL('../../', import.meta.url)

// The service runs with heap limits and a malloc setting that keep its memory bounded
// (scripts/bench/harness/bench.ts says why); the benchmarks and the demo take them from NODE_FLAGS and
// NODE_ENV_VARS, so every way of starting it must agree.
describe('the Node flags the service runs with', () => {
  it('should be the same in npm start, the Dockerfile, the benchmarks and the demo', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
    const env = Object.entries(NODE_ENV_VARS).map(([name, value]) => `${name}=${value}`)
    expect(pkg.scripts.start).toBe(`${env.join(' ')} node ${NODE_FLAGS.join(' ')} service/main.ts`)
    const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8').split('\n')
    const cmd = dockerfile.find((line) => line.startsWith('CMD'))
    expect(JSON.parse(cmd!.slice(3))).toEqual(['node', ...NODE_FLAGS, 'service/main.ts'])
    for (const assignment of env) expect(dockerfile).toContain(`ENV ${assignment}`)
    const demo = readFileSync(new URL('scripts/demo.ts', root), 'utf8')
    expect(demo).toContain("spawn(process.execPath, [...NODE_FLAGS, 'service/main.ts']")
    expect(demo).toContain('...NODE_ENV_VARS')
  })
  it("should fill the compile cache with the service's modules without starting it (the Dockerfile's build step)", () => {
    const cache = mkdtempSync(join(tmpdir(), 'compile-cache-'))
    try {
      // A port nothing may take: were the service to start, it would fail or hang, not exit 0 silently.
      const run = spawnSync(process.execPath, [...NODE_FLAGS, 'service/main.ts', '--warm-compile-cache'], {
        cwd: root.pathname,
        env: { ...process.env, NODE_COMPILE_CACHE: cache, PORT: 'not-a-port' },
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(run.stderr).toBe('')
      expect(run.status).toBe(0)
      expect(run.stdout).toBe('')
      // Node keeps one directory per version and V8 flags, holding an entry per module.
      const entries = readdirSync(cache, { recursive: true })
      expect(entries.length).toBeGreaterThan(100)
    } finally {
      rmSync(cache, { recursive: true, force: true })
    }
  })
})
