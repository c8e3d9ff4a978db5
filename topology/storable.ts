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
  /** Where the problem is, as `a.b[2]` (empty for the value itself). */
  readonly path: string
  readonly reason: string
}

/**
 * Finds the first string (value or property name) PostgreSQL cannot store, or nesting deeper than
 * `maxDepth`, in a parsed JSON value. Iterative: a hostile value nested a million levels deep must not
 * overflow the stack here.
 */
export function findUnstorable(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }]
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!
    if (typeof v === 'string') {
      const reason = unstorableReason(v)
      if (reason) return { path, reason }
      continue
    }
    if (v === null || typeof v !== 'object') continue
    if (depth >= maxDepth) return { path, reason: `is nested deeper than ${maxDepth} levels` }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: `${path}[${i}]`, depth: depth + 1 })
      continue
    }
    for (const [name, child] of Object.entries(v)) {
      const childPath = path ? `${path}.${name}` : name
      const reason = unstorableReason(name)
      if (reason) return { path: path || 'value', reason: `has a property name that ${reason}` }
      stack.push({ value: child, path: childPath, depth: depth + 1 })
    }
  }
  return undefined
}

/** The problem's text for an error message: `requestId: contains a NUL character (\u0000)`. */
export const describeProblem = (p: JsonProblem) => `${p.path || 'value'}: ${p.reason}`
