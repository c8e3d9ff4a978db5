/**
 * Builds the Kafka Streams peer (scripts/bench/peer: pom.xml + src/) with Maven, once per version of
 * its sources: the jar and its libraries land in `.cache/peer/build-<hash of pom.xml and src/>/`, and
 * a later run with the same sources reuses them. Maven's local repository is `.cache/peer/m2`, so a
 * fresh clone needs only Java 17 and Maven (as scripts/kafka.sh does): the first build fetches from
 * Maven Central, later ones run offline (`-o`), and go online again only if an offline build fails
 * (a dependency added since).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const project = new URL('./', import.meta.url).pathname
const cache = new URL('../../../.cache/peer/', import.meta.url).pathname

export interface PeerBuild {
  /** The classpath to run the peer with: its jar and every library it needs. */
  classpath: string
  /** `java -version`'s first line: the JVM that runs it. */
  java: string
  /** Whether this call built it (false: the cached build of the same sources). */
  built: boolean
  seconds: number
}

/** The project's files in a stable order, for the hash that names the build. */
function sources(dir = project, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((e) => {
      const path = join(rel, e.name)
      if (e.isDirectory()) return path === 'src' || path.startsWith('src/') ? sources(dir, path) : []
      return path === 'pom.xml' || path.startsWith('src/') ? [path] : []
    })
    .sort()
}

function sourceHash(): string {
  const hash = createHash('sha256')
  for (const file of sources()) hash.update(`${file}\0`).update(readFileSync(join(project, file)))
  return hash.digest('hex').slice(0, 16)
}

function mvn(buildDir: string, offline: boolean): void {
  const args = [
    '-B',
    '-q',
    '-Dstyle.color=never',
    `-Dmaven.repo.local=${cache}m2`,
    `-Dpeer.build.dir=${buildDir}`,
  ]
  if (offline) args.push('-o')
  // Output to a log, shown on failure only: Maven 3.8 prints stray colour codes even with -q -B.
  const logFile = `${buildDir}.log`
  try {
    execFileSync('mvn', [...args, '-f', join(project, 'pom.xml'), 'package'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    })
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; message: string }
    writeFileSync(logFile, `${e.stdout ?? ''}${e.stderr ?? ''}`)
    throw new Error(`mvn ${offline ? '-o ' : ''}package failed (its output: ${logFile}): ${e.message}`)
  }
}

function javaVersion(): string {
  const version = spawnSync('java', ['-version'], { encoding: 'utf8' })
  if (version.status !== 0)
    throw new Error(`the peer needs Java 17 or later on the PATH: ${version.error ?? version.stderr}`)
  return version.stderr.split('\n')[0]!.trim()
}

/** The peer's classpath, building it first unless these sources were built before. */
export function buildPeer(log: (msg: string) => void): PeerBuild {
  const started = performance.now()
  const buildDir = `${cache}build-${sourceHash()}`
  const done = join(buildDir, '.complete')
  const classpath = `${join(buildDir, 'coupon-peer-0.jar')}:${join(buildDir, 'libs', '*')}`
  const java = javaVersion()
  if (existsSync(done)) return { classpath, java, built: false, seconds: 0 }
  mkdirSync(cache, { recursive: true })
  rmSync(buildDir, { recursive: true, force: true }) // no marker: leftovers of an interrupted build
  const fetched = join(cache, 'm2', '.fetched')
  if (existsSync(fetched)) {
    log('peer: building the Kafka Streams app offline (mvn -o)')
    try {
      mvn(buildDir, true)
    } catch (error) {
      log(`peer: offline build failed, trying online: ${(error as Error).message}`)
      mvn(buildDir, false)
    }
  } else {
    log('peer: building the Kafka Streams app (first build: Maven fetches from Maven Central)')
    mvn(buildDir, false)
  }
  writeFileSync(fetched, '')
  writeFileSync(done, '')
  // Builds of older sources are never used again.
  for (const old of readdirSync(cache)) {
    if (old.startsWith('build-') && !buildDir.endsWith(old))
      rmSync(join(cache, old), { recursive: true, force: true })
  }
  const seconds = (performance.now() - started) / 1000
  log(`peer: built in ${seconds.toFixed(1)}s`)
  return { classpath, java, built: true, seconds }
}
