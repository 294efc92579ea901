// The schema of the PostgreSQL store, as numbered migrations. Each runs once per schema, in
// order, inside one transaction with its row in `strata_migrations`; a transaction-scoped
// advisory lock (keyed by the schema) makes processes that start together take turns, so the
// second one finds the migrations applied and does nothing.
//
// Never edit a migration that has shipped: append a new one.
import type pg from 'pg'
import { newerSchema } from '../store-format.ts'
import { type Client, lockSpace, quoteIdent } from './connection.ts'

interface Migration {
  id: number
  name: string
  /** Statements run in order; `S` is the quoted schema name. */
  sql: (S: string) => string[]
}

// Names: keys and view names compare byte-wise (COLLATE "C"): cheaper than a locale, and the
// same order as LMDB's keys. `window` and `offset` are SQL keywords, hence window_start and
// next_offset. Keys are stored escaped (keys.ts). States are the monoids' encoded JSON, stored
// as json (the text as written: never looked into, never reformatted) — not jsonb, which is
// bigger and slower here and refuses \u0000 in strings; docs/decisions/0003-postgres-store.md
// has the measurements.
export const migrations: Migration[] = [
  {
    id: 1,
    name: 'batch views, speed partitions, realtime states',
    sql: (S) => [
      // One row per view: the version counter, and the served version with its metadata (the
      // flip is an update of this row).
      `CREATE TABLE ${S}.batch_views (
        view text COLLATE "C" PRIMARY KEY,
        next_version integer NOT NULL,
        served_version integer,
        served_meta jsonb
      )`,
      // Versions not yet dropped. stage_id keys the advisory lock its stager holds while it
      // writes: a staged version whose lock is free belongs to a process that died.
      `CREATE TABLE ${S}.batch_versions (
        view text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        stage_id integer GENERATED ALWAYS AS IDENTITY UNIQUE,
        status text NOT NULL CHECK (status IN ('staged', 'served', 'retired')),
        PRIMARY KEY (view, version)
      )`,
      `CREATE TABLE ${S}.batch_entries (
        view text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        key text COLLATE "C" NOT NULL,
        window_start bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (view, version, key, window_start)
      )`,
      `CREATE TABLE ${S}.batch_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        view text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        completed_at bigint NOT NULL,
        meta jsonb NOT NULL
      )`,
      `CREATE INDEX batch_history_recent ON ${S}.batch_history (completed_at DESC, id DESC)`,
      // owner 0: a partition no speed worker has claimed yet, present only to carry the
      // boundaries batch runs required of its first claimer.
      `CREATE TABLE ${S}.speed_partitions (
        partition integer PRIMARY KEY,
        owner bigint NOT NULL,
        next_offset bigint NOT NULL,
        epochs bigint[] NOT NULL,
        required bigint[] NOT NULL
      )`,
      `CREATE TABLE ${S}.speed_views (
        view text COLLATE "C" PRIMARY KEY,
        code_hash text NOT NULL,
        start bigint[] NOT NULL
      )`,
      // The primary key serves the query (view, key, window range); the second index serves
      // garbage collection (partition, epochs below a bound).
      `CREATE TABLE ${S}.realtime (
        view text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        window_start bigint NOT NULL,
        partition integer NOT NULL,
        epoch bigint NOT NULL,
        state json NOT NULL,
        PRIMARY KEY (view, key, window_start, partition, epoch)
      )`,
      `CREATE INDEX realtime_by_epoch ON ${S}.realtime (partition, epoch)`,
    ],
  },
  {
    id: 2,
    name: 'what the store was built from',
    // One row per name (source, dataset: src/runtime/source-identity.ts), each written once.
    sql: (S) => [`CREATE TABLE ${S}.strata_meta (name text PRIMARY KEY, value jsonb NOT NULL)`],
  },
  {
    id: 3,
    name: 'view errors of the speed layer, long keys',
    // One row per view whose code threw: core/view-errors.ts's ViewErrorTally, updated in the
    // commit that skipped the events. And the full key of each long key (long-keys.ts), under its
    // stored text; the key column is never indexed, so it has no length limit.
    sql: (S) => [
      `CREATE TABLE ${S}.view_errors (
        view text COLLATE "C" PRIMARY KEY,
        tally jsonb NOT NULL
      )`,
      `CREATE TABLE ${S}.long_keys (
        stored text COLLATE "C" PRIMARY KEY,
        key text NOT NULL
      )`,
    ],
  },
]

/** Applies the migrations the schema lacks; returns the ids applied by this call. */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const S = quoteIdent(schema)
  const client: Client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    // (space, 0): stage ids start at 1, so this key is the migrations' alone.
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [lockSpace(schema)])
    // Checked first: CREATE SCHEMA needs a privilege a role that only uses the schema may lack.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${S}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${S}.strata_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    )
    const { rows } = await client.query<{ id: number; name: string }>(
      `SELECT id, name FROM ${S}.strata_migrations ORDER BY id`,
    )
    // A migration we do not know was applied by a newer Strata: its tables would be misread.
    const known = Math.max(...migrations.map((m) => m.id))
    const newer = rows.filter((row) => row.id > known)
    if (newer.length > 0) throw newerSchema(schema, newer, known)
    const done = new Set(rows.map((r) => r.id))
    const applied: number[] = []
    for (const migration of migrations) {
      if (done.has(migration.id)) continue
      for (const statement of migration.sql(S)) await client.query(statement)
      await client.query(`INSERT INTO ${S}.strata_migrations (id, name) VALUES ($1, $2)`, [
        migration.id,
        migration.name,
      ])
      applied.push(migration.id)
    }
    await client.query('COMMIT')
    return applied
  } catch (error) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e
    })
    throw error
  } finally {
    client.release(broken)
  }
}
