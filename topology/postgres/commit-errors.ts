/**
 * Tells PostgreSQL's refusals of a batch's content from failures to reach it, by SQLSTATE class
 * (https://www.postgresql.org/docs/15/errcodes-appendix.html), never by message:
 * - refused content, the same batch fails the same way for ever: class 22 data exception (a NUL in
 *   text, an untranslatable character, a value out of range), 23 integrity constraint violation, 54
 *   program limit exceeded (e.g. an index row larger than a btree page: a huge store key);
 * - everything else is transient or an operator's problem — connection (08), serialization and
 *   deadlock (40), lock not available (55P03), shutdown and cancel (57), resources (53), and also
 *   syntax/undefined objects (42), which mean a missing migration: splitting would send every record
 *   to the DLQ, so those wait and report instead.
 */
import type { TaskId } from '../runtime/backend.ts'
import { CommitRejectedError } from '../runtime/backend.ts'

const REFUSED_CLASSES = new Set(['22', '23', '54'])

interface PgError {
  code?: unknown
  message?: unknown
  detail?: unknown
}

/** The SQLSTATE of a PostgreSQL error (pg's DatabaseError), if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as PgError | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/** True when PostgreSQL refused the content itself: retrying the same statement cannot succeed. */
export function isDataError(error: unknown): boolean {
  const state = sqlState(error)
  return state !== undefined && REFUSED_CLASSES.has(state.slice(0, 2))
}

/** Wraps a data error as the runtime's CommitRejectedError (with the database's words); else returns it. */
export function classifyCommitError(task: TaskId, error: unknown): unknown {
  if (!isDataError(error)) return error
  const { message, detail } = error as PgError
  const text = `SQLSTATE ${sqlState(error)}: ${String(message)}${detail ? ` (${String(detail)})` : ''}`
  return new CommitRejectedError(task, text, { cause: error })
}
