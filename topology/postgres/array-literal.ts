/**
 * PostgreSQL array literals (`{"a","b\"c",NULL}`), built here rather than by the driver. A batch
 * sends its columns as arrays (`unnest($1::text[], ...)`), thousands of elements per commit; node-postgres
 * turns a JavaScript array into a literal element by element, through its general `prepareValue` and two
 * regular-expression replaces per string. That was 5–6% of the tasks' thread in `bench:coupons` (profile
 * in docs/benchmarks.md). Here a string is tested once and copied as it is unless it holds a quote or a
 * backslash, and a number is written bare.
 *
 * The text means to PostgreSQL exactly what the driver's literal means, for every element type the
 * runtime and the shop send: strings (any characters, `NULL` and the empty string included), numbers,
 * bigints, booleans, null/undefined (SQL NULL), and Buffers (as `bytea`). Pass the result where the
 * array went, with the same cast: `${arrayLiteral(keys)}::text[]`.
 */

export type ArrayElement = string | number | bigint | boolean | Buffer | null | undefined

/** The keys of `T` whose values can be array elements: the columns a row can be `unnest`ed by. */
export type ScalarKeys<T> = { [K in keyof T]-?: T[K] extends ArrayElement ? K : never }[keyof T]

const NEEDS_ESCAPE = /["\\]/

function element(value: ArrayElement): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'string') {
    // Always quoted: unquoted, `NULL`, the empty string, blanks, commas and braces would mean other things.
    if (!NEEDS_ESCAPE.test(value)) return `"${value}"`
    return `"${value.replace(/[\\"]/g, '\\$&')}"`
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value)
  // bytea in hex form; the array's own backslash escaping turns `\\x` into the `\x` bytea expects.
  return `"\\\\x${value.toString('hex')}"`
}

/** The literal of a one-dimensional array. */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    out += element(values[i])
  }
  return `${out}}`
}
