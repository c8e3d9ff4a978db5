/** Formatting shared by the benchmark reports, and the writer of one marked section of BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { CpuUse } from './measure.ts'
import type { Rate } from './runtime-harness.ts'

export const rate = (r: Rate) => r.records / r.seconds
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
export const fmtRate = (r: Rate) => fmtInt(rate(r))
export const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`
export const ms = (seconds: number) =>
  seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`

/** A Markdown table with padded columns (as the project's formatter, biome, writes them). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

function cpuRow(name: string, c: CpuUse): string[] {
  // Shares of one core over the phase's wall time: 100% = one core busy the whole phase.
  const pct = (s: number) => `${Math.round((100 * s) / c.seconds)}%`
  return [name, c.seconds.toFixed(1), pct(c.node), pct(c.postgres), pct(c.kafka), pct(c.other), pct(c.idle)]
}

/** The CPU-by-process paragraph and table, one row per named phase. */
export function cpuSection(phases: Array<[name: string, cpu: CpuUse]>): string[] {
  return [
    'CPU by process over each phase, as a share of one core (2 cores = 200%). "node" is the process under test; ' +
      '"postgres" is this run\'s database backends plus the server\'s shared processes; "other" is everything else ' +
      "on the machine (other databases, other people's tests):",
    '',
    table(
      ['phase', 'seconds', 'node', 'postgres', 'kafka', 'other', 'idle'],
      phases.map(([name, cpu]) => cpuRow(name, cpu)),
    ),
  ]
}

/** Replaces the section between `<!-- bench:NAME -->` markers (or appends it), leaving the others alone. */
export function writeMarkedSection(path: string, name: string, section: string): void {
  const start = `<!-- bench:${name} -->`
  const end = `<!-- /bench:${name} -->`
  const marked = `${start}\n${section}\n${end}`
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n'
  const from = current.indexOf(start)
  const to = current.indexOf(end)
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${marked}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${marked}\n`
  writeFileSync(path, next)
}
