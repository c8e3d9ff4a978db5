/**
 * The error catalogues: the library's (`topology/errors.ts`) and the shop's (`service/errors.ts`). Every
 * code is unique within its catalogue, has a summary, and is listed in docs/errors.md — and the doc
 * names no code that does not exist. No bare `Error` is raised on the library's record path.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ErrorCodes } from '../../service/errors.ts'
import { RecordErrorCodes, StoreErrorCodes, StreamsErrorCodes } from '../../topology/errors.ts'

const root = resolve(import.meta.dirname, '../..')
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
const library = [
  ...Object.keys(StreamsErrorCodes),
  ...Object.keys(RecordErrorCodes),
  ...Object.keys(StoreErrorCodes),
]
const shop = Object.keys(ErrorCodes)

/** Codes the doc names in its tables' first column. */
const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)`\s*\|/gm)].map((m) => m[1]!))

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

describe('the error catalogues', () => {
  it('should give every library code one meaning: unique across its tables, each with a summary', () => {
    expect(new Set(library).size).toBe(library.length)
    for (const [code, entry] of Object.entries(StreamsErrorCodes)) {
      expect(code).toMatch(/^[A-Z_]+$/)
      expect(entry.summary.length, code).toBeGreaterThan(10)
      expect(typeof entry.retriable, code).toBe('boolean')
    }
    for (const [code, summary] of Object.entries({ ...RecordErrorCodes, ...StoreErrorCodes }))
      expect(summary.length, code).toBeGreaterThan(10)
  })

  it('should document every code of both catalogues in docs/errors.md, and no code that does not exist', () => {
    for (const code of [...library, ...shop])
      expect(documented.has(code), `${code} is not in docs/errors.md`).toBe(true)
    const known = new Set([...library, ...shop])
    for (const code of documented)
      expect(known.has(code), `docs/errors.md names ${code}, which no catalogue has`).toBe(true)
  })

  it('should raise no bare Error on the record path (runtime, PostgreSQL backend, DSL)', () => {
    const files = ['runtime', 'postgres', 'dsl'].flatMap((d) => sources(join(root, 'topology', d)))
    expect(files.length).toBeGreaterThan(20)
    const bare = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/new Error\(/.test(line) ? [`${file.slice(root.length + 1)}:${i + 1}`] : [])),
    )
    expect(bare).toEqual([])
  })
})
