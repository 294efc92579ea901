// What a query reads (docs/horizon.md, rule 5): the served batch version, its entries for the
// key, the realtime states of the epochs at or after its horizon, the speed view and the
// partitions' offsets — all from ONE snapshot of the database.
//
// One statement gives that: PostgreSQL runs every subquery of a statement against the snapshot
// taken when the statement starts, at any isolation level, so a flip or a speed commit lands
// wholly before or wholly after it. It is what a REPEATABLE READ transaction of five SELECTs
// would see, in one round trip instead of seven (BEGIN, five reads, COMMIT); queries are the
// hot path of the serving layer.
import type { TimeRange } from '../../core/time-range.ts'
import type { ViewSnapshot } from '../store.ts'
import { MAX_WINDOW, MIN_WINDOW } from './batch.ts'
import type { Db } from './connection.ts'
import { keysOf, storedKey } from './keys.ts'

type PartitionRow = [partition: number, owner: number, offset: number, epochs: number[], required: number[]]

export async function snapshot(db: Db, view: string, key: string, range: TimeRange): Promise<ViewSnapshot> {
  const { S } = db
  const { rows } = await db.pool.query({
    name: 'strata_snapshot',
    text: `WITH served AS (
             SELECT served_version AS version, served_meta AS meta
               FROM ${S}.batch_views WHERE view = $1 AND served_version IS NOT NULL)
           SELECT
             (SELECT meta FROM served) AS batch,
             (SELECT coalesce(json_agg(json_build_array(e.window_start, e.state) ORDER BY e.window_start), '[]')
                FROM ${S}.batch_entries e JOIN served s ON e.version = s.version
               WHERE e.view = $1 AND e.key = $2 AND e.window_start >= $3 AND e.window_start < $4
             ) AS entries,
             (SELECT coalesce(json_agg(json_build_array(r.partition, r.epoch, r.window_start, r.state)
                                       ORDER BY r.window_start, r.partition, r.epoch), '[]')
                FROM ${S}.realtime r
               WHERE r.view = $1 AND r.key = $2 AND r.window_start >= $3 AND r.window_start < $4
                 AND r.epoch >= coalesce((SELECT (meta->'horizon'->>r.partition)::bigint FROM served), 0)
             ) AS realtime,
             (SELECT json_build_object('view', view, 'codeHash', code_hash, 'start', start)
                FROM ${S}.speed_views WHERE view = $1) AS speed_view,
             (SELECT coalesce(json_agg(json_build_array(partition, owner, next_offset, epochs, required)
                                       ORDER BY partition), '[]')
                FROM ${S}.speed_partitions WHERE owner > 0) AS speed`,
    values: [view, storedKey(key), range.from ?? MIN_WINDOW, range.to ?? MAX_WINDOW],
  })
  const row = rows[0]
  const speed: ViewSnapshot['speed'] = []
  for (const [partition, owner, offset, epochs, required] of row.speed as PartitionRow[]) {
    speed[partition] = { partition, offset, epochs, required, owner }
  }
  return {
    batch: row.batch ?? undefined,
    batchEntries: (row.entries as Array<[number, unknown]>).map(([window, state]) => ({
      key,
      window,
      state,
    })),
    realtime: (row.realtime as Array<[number, number, number, unknown]>).map(
      ([partition, epoch, window, state]) => ({ partition, epoch, window, state }),
    ),
    speedView: row.speed_view ?? undefined,
    speed,
  }
}

const KEYS_PAGE = 5_000

/** Distinct keys with realtime rows in a view, ascending (byte order), one short query per page. */
export async function* realtimeKeys(db: Db, view: string): AsyncIterable<string> {
  // Two statements rather than `$2 IS NULL OR key > $2`, which a cached plan cannot turn into an
  // index range: every page would scan the view from its first key.
  const first = `SELECT DISTINCT key FROM ${db.S}.realtime WHERE view = $1 ORDER BY key LIMIT ${KEYS_PAGE}`
  const next = `SELECT DISTINCT key FROM ${db.S}.realtime WHERE view = $1 AND key > $2 ORDER BY key LIMIT ${KEYS_PAGE}`
  let after: string | undefined
  for (;;) {
    const { rows }: { rows: Array<{ key: string }> } =
      after === undefined
        ? await db.pool.query({ name: 'strata_realtime_keys', text: first, values: [view] })
        : await db.pool.query({ name: 'strata_realtime_keys_after', text: next, values: [view, after] })
    yield* await keysOf(
      db.pool,
      db.S,
      rows.map((r) => r.key),
    )
    if (rows.length < KEYS_PAGE) return
    after = rows[rows.length - 1].key
  }
}
