// The first answer of PostgreSQL at a start: a connect and `SELECT 1` on a connection of their
// own, within the start's --startup-timeout. A server (or a proxy before it: pgbouncer, an LB, a
// tunnel) that takes the connection and never answers held `strata start` with no word until a
// signal: the driver has no connect timeout by default, and the store's open could not be bounded
// as a whole since it migrates the schema, which may rightly take long. So only this is bounded;
// once the server has answered, the open goes on as before and a migration that begins is never
// cut off (a migration cut short would be cut at every restart).
import pg from 'pg'
import { formatDuration } from '../../core/duration.ts'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { Target } from './connection.ts'

/** "PostgreSQL at host:port, database db": what a message names (never a user or password). */
export function describeServer(target: Target): string {
  try {
    const url = new URL(target.connectionString)
    const database = decodeURIComponent(url.pathname.slice(1)) || '(the default)'
    // The driver takes a host or port missing from the authority from the query (a Unix
    // socket's folder: ?host=/var/run/postgresql), then PGHOST / PGPORT: name the same one.
    const host = url.hostname || url.searchParams.get('host') || process.env.PGHOST || 'localhost'
    const port = url.port || url.searchParams.get('port') || process.env.PGPORT || '5432'
    return `PostgreSQL at ${host}:${port}, database ${database}`
  } catch {
    return `PostgreSQL (${target.display})`
  }
}

/**
 * Resolves once the server has answered a connect and a first query; past `timeoutMs`, rejects
 * with STRATA_ERR_STORE_UNAVAILABLE naming the server and database (not retriable: the attempt
 * had the whole timeout). Any other failure is the driver's own error, for storeError to word.
 */
export async function awaitFirstAnswer(
  target: Target,
  timeoutMs: number,
  /** The --startup-timeout the message names, when the bound is what is left of it (a worker's wait). */
  startupTimeoutMs = timeoutMs,
): Promise<void> {
  const client = new pg.Client({ connectionString: target.connectionString, application_name: 'strata' })
  client.on('error', () => undefined) // the socket torn down below: its error is no one's to hear
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StrataError(
            ErrorCodes.STORE_UNAVAILABLE,
            `${describeServer(target)} did not answer within ${formatDuration(startupTimeoutMs)} (connect and a first query; nothing was migrated): gave up starting (--startup-timeout)`,
          ),
        ),
      timeoutMs,
    )
  })
  let answered = false
  try {
    await Promise.race([
      (async () => {
        await client.connect()
        await client.query('SELECT 1')
        answered = true
      })(),
      late,
    ])
  } finally {
    clearTimeout(timer)
    if (answered) await client.end().catch(() => undefined)
    else destroy(client)
  }
}

// A client whose server never answered: end() would wait for the server to close its side, so
// the socket is destroyed instead (pg has no public call for it).
function destroy(client: pg.Client): void {
  const connection = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection
  connection?.stream?.destroy()
}
