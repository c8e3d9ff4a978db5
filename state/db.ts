import { Kysely, PostgresDialect, type PostgresPool } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.ts'

// pg returns int8 as a string by default, which is right for offsets; COUNT(*) and ids stay strings
// too, and the repositories convert where a number is safe.

export interface DbOptions {
  url: string
  maxConnections?: number
}

export function createDb({ url, maxConnections = 10 }: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    connectionTimeoutMillis: 5_000,
    // A process frozen mid-transaction (SIGSTOP, a long GC, a partitioned host) keeps its row locks
    // until the server ends its session: this bounds how long it can block the task's next owner.
    idle_in_transaction_session_timeout: 15_000,
  })
  // A client that loses its server (PostgreSQL restarted, a session ended by a timeout) emits 'error':
  // on the pool while idle, on the client itself while checked out between two queries. Unheard, that
  // event crashes the process; heard, the transaction's next query fails and the caller retries.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  // Errors are told apart by code, never by message: what the driver raises without a SQLSTATE (a
  // connection refused, ended or timed out) is tagged here, where we still know it came from the driver.
  const tagged: PostgresPool = {
    connect: () => pool.connect().then(tagQueries, (error: unknown) => Promise.reject(connectionLost(error))),
    end: () => pool.end(),
    options: pool.options,
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: tagged }) })
}

/** The code a driver error without a SQLSTATE gets: the connection to PostgreSQL failed or was lost. */
export const CONNECTION_LOST = 'DB_CONNECTION_LOST'

const TAGGED = Symbol('tagged')

function tagQueries(client: pg.PoolClient & { [TAGGED]?: true }): pg.PoolClient {
  if (client[TAGGED]) return client
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((...args: unknown[]) => {
    const result = query(...args)
    return result instanceof Promise ? result.catch((error) => Promise.reject(connectionLost(error))) : result
  }) as typeof client.query
  client[TAGGED] = true
  return client
}

/**
 * Gives a driver error that is not PostgreSQL's answer (no SQLSTATE: it never reached the server, or
 * the server went away) the CONNECTION_LOST code; leaves the server's answers and our own bugs alone.
 */
function connectionLost(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof pg.DatabaseError) return error
  if (error instanceof TypeError || error instanceof RangeError) return error
  const withCode = error as Error & { code?: unknown }
  if (withCode.code === undefined) withCode.code = CONNECTION_LOST
  return error
}

/**
 * Creates the database named in `url` when it does not exist yet, so a fresh machine needs no manual
 * `createdb`. Connects to the server's `postgres` database to do it.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  if (!name) return
  const probe = new pg.Client({ connectionString: url })
  try {
    await probe.connect()
    return
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => {})
  }
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`)
  } catch (error) {
    // 42P04: duplicate_database — another instance created it first.
    if ((error as { code?: string }).code !== '42P04') throw error
  } finally {
    await client.end()
  }
}
