// The connection side of the PostgreSQL store: the URL (with its password kept out of every
// message), the schema name (an identifier, so validated and quoted, never a parameter), the
// pool, and the one transaction helper every multi-statement change goes through.
import pg from 'pg'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { redactUrl } from '../../core/secrets.ts'

export type Client = pg.PoolClient

/** What the store's parts share: the pool, the quoted schema name, the advisory-lock space. */
export interface Db {
  pool: pg.Pool
  /** The quoted schema, to prefix table names with (validated at open, never a value). */
  S: string
  space: number
}

export interface Target {
  /** The URL handed to pg, without Strata's own `schema` parameter. */
  connectionString: string
  /** The URL fit for messages: no password. */
  display: string
  password: string
  schema: string
}

// Lower-case, unquoted-identifier style, within PostgreSQL's 63-byte limit: nothing to escape.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

export const DEFAULT_SCHEMA = 'strata'

/** Parses a postgres:// URL. The schema comes from the options, else `?schema=`, else `strata`. */
export function parseTarget(url: string, schema?: string): Target {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Not `cause`: Node's ERR_INVALID_URL carries the whole input, password included.
    throw new StrataError(ErrorCodes.STORE, `not a PostgreSQL URL: ${redactUrl(url)}`)
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StrataError(ErrorCodes.STORE, `not a PostgreSQL URL: ${redactUrl(url)}`)
  }
  const chosen = schema ?? parsed.searchParams.get('schema') ?? DEFAULT_SCHEMA
  parsed.searchParams.delete('schema')
  const password = decodeURIComponent(parsed.password)
  const display = redactUrl(parsed.toString())
  if (!SCHEMA_NAME.test(chosen)) {
    throw new StrataError(
      ErrorCodes.STORE,
      `invalid schema name ${JSON.stringify(chosen)} for ${display}: use lower-case letters, digits and _`,
    )
  }
  return { connectionString: parsed.toString(), display, password, schema: chosen }
}

/** A double-quoted identifier; the name was validated, the quoting keeps it exact. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** A 32-bit key for advisory locks, stable per schema, so two schemas in one database never share locks. */
export function lockSpace(schema: string): number {
  let h = 0x811c9dc5
  for (const byte of Buffer.from(`strata:${schema}`)) h = Math.imul(h ^ byte, 0x01000193)
  return h | 0
}

// bigint columns (offsets, window starts) come back as numbers: Kafka offsets and epoch
// milliseconds stay below 2^53. Set per pool, not on pg's global registry, so other users of
// pg in the process keep their parsers.
const INT8 = 20
const INT8_ARRAY = 1016
const parseInt8Array = (text: string): number[] =>
  text === '{}' ? [] : text.slice(1, -1).split(',').map(Number)

export function createPool(target: Target, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max,
    application_name: 'strata',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8) return Number
        if (oid === INT8_ARRAY) return parseInt8Array
        return pg.types.getTypeParser(oid, format)
      }) as pg.CustomTypesConfig['getTypeParser'],
    },
  })
  // An idle client losing its connection must not crash the process: the next query reports it.
  pool.on('error', () => undefined)
  // Nor a checked-out one (pg-pool listens only while a client is idle): when the server goes
  // away mid-transaction, the query in flight already fails with the error, and the 'error'
  // event the client emits as well would otherwise be unhandled and kill the process.
  pool.on('connect', (client) => client.on('error', () => undefined))
  return pool
}

// Serialization failures and deadlocks roll the whole transaction back: running it again is
// safe, and the callback re-reads and re-validates everything.
const RETRY_CODES = new Set(['40001', '40P01'])
// Errors after which the same call may succeed: the server restarting, the pool full, a lost
// connection.
const TRANSIENT = /^(08|53|57P0)/

/**
 * Runs `fn` in one transaction on one pooled connection; a throw rolls everything back. `begin`
 * may add constant SET LOCAL statements, sent in the same round trip as BEGIN.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: Client) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect()
    let broken: Error | undefined
    try {
      await client.query(begin)
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e
      })
      if (attempt < 5 && RETRY_CODES.has((error as { code?: string }).code ?? '')) continue
      throw error
    } finally {
      client.release(broken)
    }
  }
}

/** Turns a driver error into a StrataError whose message holds no password. */
export function storeError(error: unknown, target: Target, doing: string): unknown {
  if (error instanceof StrataError) return error
  const raw = error instanceof Error ? error.message : String(error)
  const retriable = isTransient(error)
  const message = `PostgreSQL store (${target.display}, schema ${target.schema}): ${doing} failed: ${scrub(raw, target)}`
  return new StrataError(ErrorCodes.STORE, message, { cause: scrubbedCause(error, target), retriable })
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
])
// What pg says (with no code) when the server went away under a query or a connect.
const CONNECTION_LOST = /Connection terminated|connection timeout|Client has encountered a connection error/i

/**
 * Whether the same call may succeed later: the server restarting or unreachable, the connection
 * lost, a serialization failure. A connection lost during COMMIT leaves the outcome unknown: the
 * caller that retries must cope with a commit that landed (the speed layer's `from` rule does).
 */
export function isTransient(error: unknown): boolean {
  const code = String((error as { code?: unknown })?.code ?? '')
  if (RETRY_CODES.has(code) || TRANSIENT.test(code) || NETWORK_CODES.has(code)) return true
  // Node's connect to a name with several addresses fails with an AggregateError of each attempt.
  if (error instanceof AggregateError) return error.errors.some(isTransient)
  return error instanceof Error && CONNECTION_LOST.test(error.message)
}

function scrub(text: string, target: Target): string {
  const redacted = redactUrl(text)
  // pg never echoes a password, but a message quoting the raw URL would: mask it wherever it is.
  return target.password.length >= 3 ? redacted.replaceAll(target.password, '***') : redacted
}

// The cause is kept for its code and stack (useful in logs), with its message scrubbed too.
function scrubbedCause(error: unknown, target: Target): unknown {
  if (!(error instanceof Error)) return undefined
  const copy = new Error(scrub(error.message, target))
  copy.name = error.name
  copy.stack = error.stack === undefined ? undefined : scrub(error.stack, target)
  const code = (error as { code?: string }).code
  if (code !== undefined) Object.assign(copy, { code })
  return copy
}
