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

/** A value still to check, and how to name it: its parent's entry and its own segment (see `pathOf`). */
interface Pending {
  readonly value: unknown
  readonly parent: Pending | undefined
  readonly segment: string | number | undefined
  readonly depth: number
}

/**
 * Finds the first string (value or property name), in document order, that PostgreSQL cannot store, or
 * nesting deeper than `maxDepth`. Iterative: a hostile value nested a million levels deep (JSON.parse
 * takes it) must not overflow the stack here. It runs on every record a source parses, so a path is
 * only spelled out for the problem it reports: joined for every field, the paths were a third of its
 * time (bench:orders profile).
 */
export function findUnstorable(value: unknown, options: FindOptions = {}): JsonProblem | undefined {
  const { maxDepth = MAX_JSON_DEPTH, root = '', join = jsJoin } = options
  const pathOf = (entry: Pending): string => {
    const segments: Array<string | number> = []
    for (let e: Pending | undefined = entry; e?.segment !== undefined; e = e.parent) segments.push(e.segment)
    return segments.reduceRight<string>((path, segment) => join(path, segment), root)
  }
  const stack: Pending[] = [{ value, parent: undefined, segment: undefined, depth: 0 }]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const v = next.value
    if (typeof v === 'string') {
      const reason = unstorableReason(v)
      if (reason) return { path: pathOf(next), reason }
      continue
    }
    if (v === null || typeof v !== 'object') continue
    const depth = next.depth + 1
    if (depth > maxDepth) return { path: pathOf(next), reason: `is nested deeper than ${maxDepth} levels` }
    // Children are pushed last to first, so the first problem in document order is the one reported.
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        if (mayHoldProblem(v[i])) stack.push({ value: v[i], parent: next, segment: i, depth })
      continue
    }
    const names = Object.keys(v)
    for (const name of names) {
      // The name itself is the bad text, so it cannot name the field: the object it sits in does.
      const reason = unstorableReason(name)
      if (reason) return { path: pathOf(next), reason: `a property name ${reason}` }
    }
    for (let i = names.length - 1; i >= 0; i--) {
      const name = names[i]!
      const child = (v as Record<string, unknown>)[name]
      if (mayHoldProblem(child)) stack.push({ value: child, parent: next, segment: name, depth })
    }
  }
  return undefined
}

/**
 * Whether a child must be visited: objects and arrays, and strings with a problem. The rest is never
 * pushed: an entry per field was most of what this function allocated (bench:orders heap profile),
 * and the problems pushed keep their document order.
 */
const mayHoldProblem = (child: unknown): boolean =>
  typeof child === 'string'
    ? unstorableReason(child) !== undefined
    : child !== null && typeof child === 'object'

/** The problem's text for an error message: `requestId: contains a NUL character (\u0000)`. */
export const describeProblem = (p: JsonProblem) => `${p.path || 'value'}: ${p.reason}`
