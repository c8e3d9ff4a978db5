/**
 * What PostgreSQL can store. `text` cannot hold NUL, and `jsonb` rejects `\u0000` and lone UTF-16
 * surrogates (the driver would also turn a lone surrogate into U+FFFD on the way to `text`, silently
 * changing the data). A record carrying such a string must be refused when it is parsed — as a
 * VALIDATION_FAILED record in the DLQ — not when its batch commits, where it would fail the commit.
 */

/** Why PostgreSQL cannot store `s` faithfully, or undefined when it can. */
export function unstorableReason(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (\\u0000)'
  if (!s.isWellFormed()) return 'contains a lone UTF-16 surrogate'
  return undefined
}

/** Deeper than this is refused: nothing we read nests so far, and JSON.stringify recurses. */
export const MAX_JSON_DEPTH = 64

export interface JsonProblem {
  /** Where the problem is: `a.b[2]` (or as `options.path` joins it); for a bad property name, its object. */
  readonly path: string
  readonly reason: string
}

export interface FindOptions {
  /** Nesting refused beyond this depth (default MAX_JSON_DEPTH); pass Infinity to only check strings. */
  maxDepth?: number
  /** The value's own name in paths: `body`, `params` (default: none). */
  root?: string
  /** Joins a path and a property name or array index (default JavaScript style: `a.b[2]`). */
  join?: (path: string, segment: string | number) => string
}

const jsJoin = (path: string, segment: string | number) =>
  typeof segment === 'number' ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment

/**
 * Finds the first string (value or property name), in document order, that PostgreSQL cannot store, or
 * nesting deeper than `maxDepth`. Iterative: a hostile value nested a million levels deep (JSON.parse
 * takes it) must not overflow the stack here.
 */
export function findUnstorable(value: unknown, options: FindOptions = {}): JsonProblem | undefined {
  const { maxDepth = MAX_JSON_DEPTH, root = '', join = jsJoin } = options
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: root, depth: 0 }]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: v, path, depth } = next
    if (typeof v === 'string') {
      const reason = unstorableReason(v)
      if (reason) return { path, reason }
      continue
    }
    if (v === null || typeof v !== 'object') continue
    if (depth >= maxDepth) return { path, reason: `is nested deeper than ${maxDepth} levels` }
    // Children are pushed last to first, so the first problem in document order is the one reported.
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: join(path, i), depth: depth + 1 })
      continue
    }
    const entries = Object.entries(v)
    for (const [name] of entries) {
      // The name itself is the bad text, so it cannot name the field: the object it sits in does.
      const reason = unstorableReason(name)
      if (reason) return { path, reason: `a property name ${reason}` }
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [name, child] = entries[i]!
      stack.push({ value: child, path: join(path, name), depth: depth + 1 })
    }
  }
  return undefined
}

/** The problem's text for an error message: `requestId: contains a NUL character (\u0000)`. */
export const describeProblem = (p: JsonProblem) => `${p.path || 'value'}: ${p.reason}`
