// commitSpeed: rule 1 of docs/horizon.md (a realtime state and the offset that produced it move
// together) in one PostgreSQL transaction, with the checks LMDB makes (checkSpeedCommit in
// speed-rules.ts: same checks, same order, same error codes). Lock order and the other speed
// functions: speed.ts.

import {
  addToTally,
  byView,
  type ViewErrorTally,
  type ViewFoldError,
  withStop,
} from '../../core/view-errors.ts'
import { checkSpeedCommit } from '../speed-rules.ts'
import {
  type CombineEncoded,
  deltaCount,
  deltaList,
  type SpeedCommit,
  type SpeedPartition,
} from '../store.ts'
import { type Client, type Db, inTransaction } from './connection.ts'
import { saveLongKeys, storedKey } from './keys.ts'
import { claimed, PARTITION_COLUMNS, savePartition, toPartition } from './speed.ts'

/** One row's identity in a commit (stored keys hold no U+0000; view names are identifiers). */
const rowId = (view: string, key: string, window: number, epoch: number) =>
  `${view}\u0000${window}\u0000${epoch}\u0000${key}`

// The read in writeDeltas must be one primary-key probe per delta. While the realtime table grows
// from empty its statistics lag (autovacuum has not analyzed it yet), and the planner, believing
// it tiny, probed with the GC index (partition, epoch) and filtered the rest — a scan of the
// whole partition per delta, 6 s per 10,000 rows already in it. The read writes `partition + 0`
// so that index cannot match, and sequential scans are disabled in this transaction, which
// leaves the primary key as the only plan.
export const COMMIT_BEGIN = 'BEGIN; SET LOCAL enable_seqscan = off'

/** The stored states of the rows a commit touches ($1 partition; $2-$5 views, keys, windows, epochs). */
export function readStoredSql(S: string): string {
  return `SELECT d.view, d.key, d.w, d.e, r.state
             FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS d(view, key, w, e)
             CROSS JOIN LATERAL (
               SELECT state FROM ${S}.realtime r
                WHERE r.view = d.view AND r.key = d.key AND r.window_start = d.w
                  AND r.partition + 0 = $1 AND r.epoch = d.e
                LIMIT 1) AS r`
}

export function commitSpeed(db: Db, commit: SpeedCommit, combine: CombineEncoded): Promise<void> {
  return inTransaction(
    db.pool,
    async (client) => {
      const { partition, deltas } = commit
      const { rows: found } = await client.query<SpeedPartition>({
        name: 'strata_lock_partition',
        text: `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions WHERE partition = $1 FOR UPDATE`,
        values: [partition],
      })
      // Every recorded view, shared: other partitions' commits read the same rows, and
      // registerSpeedViews (which locks partitions first) waits for us. A commit must carry them
      // all (checkSpeedCommit), not only the views it names.
      const { rows } = await client.query({
        name: 'strata_share_all_views',
        text: `SELECT view, code_hash FROM ${db.S}.speed_views ORDER BY view FOR SHARE`,
      })
      const recorded = new Map<string, string>(rows.map((r) => [r.view, r.code_hash]))
      const after = checkSpeedCommit(claimed(found[0] && toPartition(found[0])), commit, recorded)
      if (deltaCount(deltas) > 0) await writeDeltas(db, client, partition, commit, combine)
      if (commit.errors?.length) await writeErrorTallies(db, client, commit)
      await savePartition(db, client, after)
    },
    COMMIT_BEGIN,
  )
}

// In the commit's transaction, so the errors of an event count once, as its states do. Rows are
// locked in view order (FOR UPDATE) so that partitions committing together take turns.
async function writeErrorTallies(db: Db, client: Client, commit: SpeedCommit): Promise<void> {
  const at = Date.now()
  const grouped = [...byView(commit.errors ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [view, errors] of grouped) {
    const tally = addToTally(await lockTally(db, client, view), errors, commit.offered ?? 0, at)
    await client.query(
      `INSERT INTO ${db.S}.view_errors (view, tally) VALUES ($1, $2)
       ON CONFLICT (view) DO UPDATE SET tally = EXCLUDED.tally`,
      [view, JSON.stringify(tally)],
    )
  }
}

/** The view's tally with `failure` as its partition's stop (store.ts, recordViewStop). */
export function recordViewStop(db: Db, failure: ViewFoldError): Promise<void> {
  return inTransaction(db.pool, async (client) => {
    const tally = withStop(await lockTally(db, client, failure.view), failure)
    await client.query(
      `INSERT INTO ${db.S}.view_errors (view, tally) VALUES ($1, $2)
       ON CONFLICT (view) DO UPDATE SET tally = EXCLUDED.tally`,
      [failure.view, JSON.stringify(tally)],
    )
  })
}

/**
 * The view's tally, its row locked until the transaction ends. The row is made first when there
 * is none (an empty tally, rewritten before the transaction commits): FOR UPDATE locks no row
 * that does not exist, so two writers of a view's first tally (two partitions' commits, two
 * partitions' stops, from any processes) each found none, each wrote its own, and the second's
 * ON CONFLICT replaced the first's: a lost error count or a lost stop. The insert instead waits
 * for the other's to commit, and the read that follows sees it.
 */
async function lockTally(db: Db, client: Client, view: string): Promise<ViewErrorTally> {
  await client.query(
    `INSERT INTO ${db.S}.view_errors (view, tally) VALUES ($1, '{"count":0,"recent":[]}')
     ON CONFLICT (view) DO NOTHING`,
    [view],
  )
  const { rows } = await client.query<{ tally: ViewErrorTally }>(
    `SELECT tally FROM ${db.S}.view_errors WHERE view = $1 FOR UPDATE`,
    [view],
  )
  return rows[0]!.tally
}

export async function speedViewErrors(db: Db): Promise<Map<string, ViewErrorTally>> {
  const { rows } = await db.pool.query<{ view: string; tally: ViewErrorTally }>(
    `SELECT view, tally FROM ${db.S}.view_errors ORDER BY view`,
  )
  return new Map(rows.map((r) => [r.view, r.tally]))
}

// Three statements whatever the number of deltas: read the stored states of the rows they touch,
// combine in JS (the monoids live here), then insert the new rows and update the others.
// - The rows travel as parallel arrays (unnest), states as JSON text cast to json: PostgreSQL's
//   JSON functions (json_to_recordset) would de-escape strings and refuse a \u0000 in a state.
// - The read is a LATERAL lookup with LIMIT 1 (which keeps the planner from flattening it into a
//   join), written so that only the primary key can serve it (see COMMIT_BEGIN).
// - New rows by plain INSERT (cheaper than ON CONFLICT; safe, as only the holder of this
//   partition's row lock writes its realtime rows), stored ones by an upsert (below).
async function writeDeltas(
  db: Db,
  client: Client,
  partition: number,
  commit: SpeedCommit,
  combine: CombineEncoded,
): Promise<void> {
  const rows = new Map<string, Row>()
  const deltas = deltaList(commit.deltas)
  for (const { view, key: raw, window, epoch, state } of deltas) {
    const key = storedKey(raw)
    const id = rowId(view, key, window, epoch)
    const before = rows.get(id)
    if (before) before.state = combine(view, before.state, state)
    else rows.set(id, { view, key, window, epoch, state })
  }
  await saveLongKeys(
    client,
    db.S,
    deltas.map((d) => d.key),
  )
  const all = [...rows.values()]
  const { rows: stored } = await client.query({
    name: 'strata_read_realtime',
    text: readStoredSql(db.S),
    values: [partition, ...columns(all, false).slice(0, 4)],
  })
  const updated: Row[] = []
  for (const r of stored) {
    const id = rowId(r.view, r.key, r.w, r.e)
    const row = rows.get(id)!
    row.state = combine(r.view, r.state, row.state)
    updated.push(row)
    rows.delete(id)
  }
  const rowsOf = `unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[]) AS d(view, key, w, e, s)`
  if (rows.size > 0) {
    await client.query({
      name: 'strata_insert_realtime',
      text: `INSERT INTO ${db.S}.realtime (view, key, window_start, partition, epoch, state)
             SELECT d.view, d.key, d.w, $1, d.e, d.s::json FROM ${rowsOf}`,
      values: [partition, ...columns([...rows.values()])],
    })
  }
  if (updated.length > 0) {
    // An upsert, not UPDATE … FROM unnest(…): the arbiter index makes it one primary-key probe
    // per row, where a join leaves the plan to statistics (see the read above).
    await client.query({
      name: 'strata_update_realtime',
      text: `INSERT INTO ${db.S}.realtime (view, key, window_start, partition, epoch, state)
             SELECT d.view, d.key, d.w, $1, d.e, d.s::json FROM ${rowsOf}
             ON CONFLICT (view, key, window_start, partition, epoch) DO UPDATE SET state = EXCLUDED.state`,
      values: [partition, ...columns(updated)],
    })
  }
}

interface Row {
  view: string
  /** Stored form (keys.ts). */
  key: string
  window: number
  epoch: number
  state: unknown
}

function columns(rows: Row[], states = true): [string[], string[], number[], number[], string[]] {
  const out: [string[], string[], number[], number[], string[]] = [[], [], [], [], []]
  for (const r of rows) {
    out[0].push(r.view)
    out[1].push(r.key)
    out[2].push(r.window)
    out[3].push(r.epoch)
    if (states) out[4].push(JSON.stringify(r.state))
  }
  return out
}
