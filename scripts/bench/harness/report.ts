/** Formatting shared by the benchmark reports, and the writer of one marked section of BENCHMARKS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { CpuUse, Rate, RssSummary } from './measure.ts'

export const rate = (r: Rate) => r.records / r.seconds
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
export const fmtRate = (r: Rate) => fmtInt(rate(r))
export const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`
export const ms = (seconds: number) =>
  seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`
export const percent = (share: number) => `${Math.round(100 * share)}%`
/** How many times faster `a` is than `b`, as the reports print ratios. */
export const times = (a: Rate, b: Rate) => `${(rate(a) / rate(b)).toFixed(1)}×`
/** A row of a rates table: name, records, seconds, records/s. */
export const rateRow = (name: string, r: Rate) => [name, fmtInt(r.records), r.seconds.toFixed(2), fmtRate(r)]
/** Where ours ran its outbox relay (the `--relay` setting), as the reports' settings line says it. */
export const relayWhere = (relay: string) =>
  relay === 'thread' ? 'the relay on a worker thread' : 'the relay on the tasks’ thread'
/** Log text for a rate. */
export const per = (r: Rate) => `${r.records} in ${r.seconds.toFixed(2)}s (${Math.round(rate(r))}/s)`

/** A Markdown table with padded columns (as the project's formatter, biome, writes them). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** The CPU-by-process paragraph and table, one row per named phase. */
export function cpuSection(phases: Array<[name: string, cpu: CpuUse]>): string {
  // Shares of one core over the phase's wall time: 100% = one core busy the whole phase.
  const row = (name: string, c: CpuUse) => [
    name,
    c.seconds.toFixed(1),
    ...[c.node, c.postgres, c.kafka, c.other, c.idle].map((s) => `${Math.round((100 * s) / c.seconds)}%`),
  ]
  return [
    'CPU by process over each phase, as a share of one core (2 cores = 200%). "node" is the process under test; ' +
      '"postgres" is this run\'s database backends plus the server\'s shared processes; "other" is everything else ' +
      "on the machine (other databases, other people's tests):",
    '',
    table(
      ['phase', 'seconds', 'node', 'postgres', 'kafka', 'other', 'idle'],
      phases.map(([name, cpu]) => row(name, cpu)),
    ),
  ].join('\n')
}

/** A process's memory: `intro` (which ends with the peak) and the RSS and heap at points of progress. */
export function memorySection(intro: string, rss: RssSummary): string {
  const points = [rss.start, ...rss.tenths, rss.end]
  return [
    intro,
    '',
    table(
      ['progress', 'start', ...rss.tenths.map((_, i) => `${(i + 1) * 10}%`), 'end'],
      [
        ['RSS', ...points.map((m) => mb(m.rss))],
        ['V8 heap used', ...points.map((m) => mb(m.heap))],
      ],
    ),
  ].join('\n')
}

/** `text` with the section between `<!-- bench:NAME -->` markers replaced (or appended), the others alone. */
export function withMarkedSection(text: string, name: string, section: string): string {
  const start = `<!-- bench:${name} -->`
  const end = `<!-- /bench:${name} -->`
  const marked = `${start}\n${section}\n${end}`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  return from >= 0 && to > from
    ? `${text.slice(0, from)}${marked}${text.slice(to + end.length)}`
    : `${text.trimEnd()}\n\n${marked}\n`
}

/** Writes one benchmark's section of the file at `path` (BENCHMARKS.md), leaving the other sections alone. */
export function writeMarkedSection(path: string, name: string, section: string): void {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n'
  writeFileSync(path, withMarkedSection(current, name, section))
}
