/**
 * Strings PostgreSQL cannot store as sent: `text` refuses NUL outright (a failed statement), and a
 * lone surrogate (JSON "\ud800") has no UTF-8 encoding, so it would be stored as U+FFFD — the client
 * reads back something other than what it wrote. Both are refused where the request comes in.
 */

export interface UnstorableText {
  /** Where, as the error handler names fields: "body.items.0.name"; the object's path for a key. */
  readonly path: string
  readonly reason: string
}

function problemOf(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL (U+0000)'
  if (!text.isWellFormed()) return 'must not contain a lone surrogate (unpaired \\uD800-\\uDFFF)'
  return undefined
}

/**
 * The first unstorable string in `value` (strings, property names, arrays, objects), or undefined.
 * Walks with an explicit stack: a 1 MB body can nest hundreds of thousands of levels deep, which
 * JSON.parse handles and a recursive walk would not (RangeError, a 500).
 */
export function findUnstorableText(value: unknown, root: string): UnstorableText | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: root }]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next
    if (typeof value === 'string') {
      const reason = problemOf(value)
      if (reason) return { path, reason }
    } else if (Array.isArray(value)) {
      // Pushed last to first, so the first bad element in document order is the one reported.
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}.${i}` })
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.entries(value)
      for (const [key] of entries) {
        const reason = problemOf(key)
        // The key itself is the bad text, so it cannot name the field: the object it sits in does.
        if (reason) return { path, reason: `a property name ${reason}` }
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!
        stack.push({ value: child, path: `${path}.${key}` })
      }
    }
  }
  return undefined
}
