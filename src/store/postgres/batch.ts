// Batch view versions in PostgreSQL: staged, flipped to served in one transaction, retired.
//
// A version's life is its row in batch_versions: 'staged' while a batch run writes it, 'served'
// after the flip, 'retired' once replaced (or abandoned), deleted with its entries after that.
// Several processes share the database, so "a staged version left by a crash" cannot mean "any
// staged version" (another process may be writing it right now): the stager holds a session
// advisory lock keyed by the version's stage_id on the connection it writes with, and a staged
// version whose lock anyone can take belongs to a connection that is gone.
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { TimeRange } from '../../core/time-range.ts'
import type { BatchStage, BatchViewMeta, ViewEntry } from '../store.ts'
import { type Client, type Db, inTransaction } from './connection.ts'
import { keysOf, saveLongKeys, storedKey } from './keys.ts'

const HISTORY_KEEP = 200
const DROP_CHUNK = 50_000
const SCAN_PAGE = 5_000
// Window bounds when the range leaves them open (bigint limits, passed as text).
export const MIN_WINDOW = '-9223372036854775808'
export const MAX_WINDOW = '9223372036854775807'

export async function listBatchViews(db: Db): Promise<BatchViewMeta[]> {
  const { rows } = await db.pool.query(
    `SELECT served_meta FROM ${db.S}.batch_views WHERE served_version IS NOT NULL ORDER BY view`,
  )
  return rows.map((r) => r.served_meta)
}

export async function servedBatch(db: Db, view: string): Promise<BatchViewMeta | undefined> {
  const { rows } = await db.pool.query(`SELECT served_meta FROM ${db.S}.batch_views WHERE view = $1`, [view])
  return rows[0]?.served_meta ?? undefined
}

export async function readBatch(
  db: Db,
  view: string,
  version: number,
  key: string,
  range: TimeRange,
): Promise<ViewEntry[]> {
  const { rows } = await db.pool.query(
    `SELECT window_start, state FROM ${db.S}.batch_entries
      WHERE view = $1 AND version = $2 AND key = $3 AND window_start >= $4 AND window_start < $5
      ORDER BY window_start`,
    [view, version, storedKey(key), range.from ?? MIN_WINDOW, range.to ?? MAX_WINDOW],
  )
  return rows.map((r) => ({ key, window: r.window_start, state: r.state }))
}

/** Pages through a version in (key, window) order, one short query per page. */
export async function* scanBatch(db: Db, view: string, version: number): AsyncIterable<ViewEntry> {
  let after: [string, number] | undefined
  for (;;) {
    const { rows } = after
      ? await db.pool.query(
          `SELECT key, window_start, state FROM ${db.S}.batch_entries
            WHERE view = $1 AND version = $2 AND (key, window_start) > ($3, $4)
            ORDER BY key, window_start LIMIT ${SCAN_PAGE}`,
          [view, version, after[0], after[1]],
        )
      : await db.pool.query(
          `SELECT key, window_start, state FROM ${db.S}.batch_entries
            WHERE view = $1 AND version = $2 ORDER BY key, window_start LIMIT ${SCAN_PAGE}`,
          [view, version],
        )
    const keys = await keysOf(
      db.pool,
      db.S,
      rows.map((r) => r.key),
    )
    for (let i = 0; i < rows.length; i++) {
      yield { key: keys[i]!, window: rows[i].window_start, state: rows[i].state }
    }
    if (rows.length < SCAN_PAGE) return
    const last = rows[rows.length - 1]
    after = [last.key, last.window_start]
  }
}

export async function batchHistory(db: Db, limit: number): Promise<BatchViewMeta[]> {
  const { rows } = await db.pool.query(
    `SELECT meta FROM ${db.S}.batch_history ORDER BY completed_at DESC, id DESC LIMIT $1`,
    [limit],
  )
  return rows.map((r) => r.meta)
}

/** A stage, and how to drop its connection as a crash would (the store's close() does). */
export interface OpenStage {
  stage: BatchStage
  kill(): void
}

/** Stages a version on a connection of its own, which holds the stage's lock until it ends. */
export async function stageBatch(db: Db, view: string, onEnd: (open: OpenStage) => void): Promise<OpenStage> {
  await dropDeadStages(db, view)
  const client = await db.pool.connect()
  let version: number
  let stageId: number
  try {
    await client.query('BEGIN')
    const { rows } = await client.query(
      `WITH v AS (
         INSERT INTO ${db.S}.batch_views AS b (view, next_version) VALUES ($1, 2)
         ON CONFLICT (view) DO UPDATE SET next_version = b.next_version + 1
         RETURNING b.next_version - 1 AS version)
       INSERT INTO ${db.S}.batch_versions (view, version, status)
       SELECT $1, version, 'staged' FROM v RETURNING version, stage_id`,
      [view],
    )
    ;({ version, stage_id: stageId } = rows[0])
    // Taken before the row is visible to anyone, so no cleaner ever sees it unlocked.
    await client.query('SELECT pg_advisory_lock($1, $2)', [db.space, stageId])
    await client.query('COMMIT')
  } catch (error) {
    client.release(error as Error)
    throw error
  }
  let open = true
  let released = false
  const release = (error?: Error) => {
    if (released) return
    released = true
    client.release(error)
    onEnd(handle)
  }
  const end = async (): Promise<void> => {
    open = false
    if (released) return
    try {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [db.space, stageId])
      release()
    } catch (error) {
      release(error as Error)
    }
  }
  const closed = () => new StrataError(ErrorCodes.STORE, `batch version ${version} of ${view} is closed`)
  const stage: BatchStage = {
    view,
    version,
    async put(entries) {
      if (!open) throw closed()
      if (entries.length === 0) return
      await saveLongKeys(
        client,
        db.S,
        entries.map((e) => e.key),
      )
      // One statement per chunk: parallel arrays, unnested server-side (see writeDeltas).
      await client.query(
        `INSERT INTO ${db.S}.batch_entries (view, version, key, window_start, state)
         SELECT $1, $2, d.key, d.w, d.s::json FROM unnest($3::text[], $4::bigint[], $5::text[]) AS d(key, w, s)
         ON CONFLICT (view, version, key, window_start) DO UPDATE SET state = EXCLUDED.state`,
        [
          view,
          version,
          entries.map((e) => storedKey(e.key)),
          entries.map((e) => e.window),
          entries.map((e) => JSON.stringify(e.state)),
        ],
      )
    },
    async commit(meta) {
      if (!open) throw closed()
      const served: BatchViewMeta = { view, version, ...meta }
      try {
        await flip(db, client, served)
      } finally {
        await end()
      }
      return served
    },
    async abort() {
      if (!open) return
      try {
        await dropVersion(db, view, version)
      } finally {
        await end()
      }
    },
  }
  const handle: OpenStage = {
    stage,
    kill() {
      open = false
      release(new Error('store closed with this batch version staged'))
    },
  }
  return handle
}

// The flip: the served row, the versions' states and the history move in one transaction.
async function flip(db: Db, client: Client, served: BatchViewMeta): Promise<void> {
  const { view, version } = served
  await client.query('BEGIN')
  try {
    const mine = await client.query(
      `SELECT status FROM ${db.S}.batch_versions WHERE view = $1 AND version = $2 FOR UPDATE`,
      [view, version],
    )
    if (mine.rows[0]?.status !== 'staged') {
      throw new StrataError(
        ErrorCodes.STORE,
        `batch version ${version} of ${view} was dropped before its flip (its connection was lost)`,
        { retriable: true },
      )
    }
    const before = await client.query(
      `SELECT served_version FROM ${db.S}.batch_views WHERE view = $1 FOR UPDATE`,
      [view],
    )
    const previous: number | null = before.rows[0]?.served_version ?? null
    const meta = JSON.stringify(served)
    await client.query(
      `UPDATE ${db.S}.batch_views SET served_version = $2, served_meta = $3 WHERE view = $1`,
      [view, version, meta],
    )
    await client.query(
      `UPDATE ${db.S}.batch_versions SET status = CASE WHEN version = $2 THEN 'served' ELSE 'retired' END
        WHERE view = $1 AND (version = $2 OR version = $3)`,
      [view, version, previous],
    )
    await client.query(
      `INSERT INTO ${db.S}.batch_history (view, version, completed_at, meta) VALUES ($1, $2, $3, $4)`,
      [view, version, served.completedAt, meta],
    )
    await client.query(
      `DELETE FROM ${db.S}.batch_history WHERE id IN (
         SELECT id FROM ${db.S}.batch_history ORDER BY completed_at DESC, id DESC OFFSET ${HISTORY_KEEP})`,
    )
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/**
 * Staged versions whose stager's lock is free (its connection, so its process, is gone) are
 * retired and dropped now (of one view, or of all).
 */
export async function dropDeadStages(db: Db, view?: string): Promise<void> {
  const { rows } = await db.pool.query(
    `SELECT view, version, stage_id FROM ${db.S}.batch_versions
      WHERE status = 'staged' AND ($1::text IS NULL OR view = $1) ORDER BY view, version`,
    [view ?? null],
  )
  if (rows.length === 0) return
  const dead: Array<{ view: string; version: number }> = []
  await inTransaction(db.pool, async (client) => {
    for (const row of rows) {
      // Transaction-scoped: released at commit, after the version is marked.
      const { rows: got } = await client.query('SELECT pg_try_advisory_xact_lock($1, $2) AS free', [
        db.space,
        row.stage_id,
      ])
      if (!got[0].free) continue
      // Still staged? (It may have flipped between our read and the lock.)
      const marked = await client.query(
        `UPDATE ${db.S}.batch_versions SET status = 'retired'
          WHERE view = $1 AND version = $2 AND status = 'staged'`,
        [row.view, row.version],
      )
      if (marked.rowCount === 1) dead.push(row)
    }
  })
  for (const { view: v, version } of dead) await dropVersion(db, v, version)
}

/** Drops every retired version (they are read by no query since their flip). */
export async function dropRetired(db: Db): Promise<void> {
  const { rows } = await db.pool.query(
    `SELECT view, version FROM ${db.S}.batch_versions WHERE status = 'retired' ORDER BY view, version`,
  )
  for (const { view, version } of rows) await dropVersion(db, view, version)
}

// In bounded statements, so a large old version does not make one long transaction. The row
// goes last: until then a crash leaves it marked, and the next open finishes the job.
async function dropVersion(db: Db, view: string, version: number): Promise<void> {
  for (;;) {
    const { rowCount } = await db.pool.query(
      `DELETE FROM ${db.S}.batch_entries WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM ${db.S}.batch_entries WHERE view = $1 AND version = $2 LIMIT ${DROP_CHUNK}))`,
      [view, version],
    )
    if ((rowCount ?? 0) < DROP_CHUNK) break
  }
  await db.pool.query(`DELETE FROM ${db.S}.batch_versions WHERE view = $1 AND version = $2`, [view, version])
}
