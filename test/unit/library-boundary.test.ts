/**
 * The library boundary: `topology/` is the stream library and imports nothing of the shop built on it
 * (`processors/`, `state/`, `api/`, `service/`) — nor anything else outside itself but packages.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const library = join(root, 'topology')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every relative module specifier of a file: static and dynamic imports, and re-exports. */
function specifiers(code: string): string[] {
  const found: string[] = []
  for (const match of code.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) found.push(match[1]!)
  return found
}

/** Imports of `file` that leave the library, as `file -> target`. */
function leaks(file: string, code: string): string[] {
  return specifiers(code)
    .map((spec) => resolve(dirname(file), spec))
    .filter((target) => !target.startsWith(`${library}/`))
    .map((target) => `${relative(root, file)} -> ${relative(root, target)}`)
}

describe('the library boundary', () => {
  it('should find a leak when a library file imports the shop (the check can fail)', () => {
    const file = join(library, 'runtime', 'x.ts')
    expect(leaks(file, "import { a } from '../../service/errors.ts'")).toEqual([
      'topology/runtime/x.ts -> service/errors.ts',
    ])
    expect(leaks(file, "export { b } from '../../state/schema.ts'")).toHaveLength(1)
    expect(leaks(file, "const m = await import('../../api/app.ts')")).toHaveLength(1)
    expect(leaks(file, "import { c } from '../errors.ts'")).toEqual([])
  })

  it('should keep topology/ free of imports from outside it', () => {
    const files = sources(library)
    expect(files.length).toBeGreaterThan(20)
    const found = files.flatMap((file) => leaks(file, readFileSync(file, 'utf8')))
    expect(found).toEqual([])
  })
})
