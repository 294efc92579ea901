// The speed layer's state in PostgreSQL. Each function is one transaction, and does what
// lmdb-speed.ts does (docs/horizon.md is the argument); where LMDB gets isolation from its single
// writer, here it comes from row locks taken in one global order:
//
//   speed_partitions rows (ascending partition)  →  speed_views rows (ascending view)
//
// commitSpeed locks only its own partition's row and shares the view rows, so commits on
// different partitions never wait for each other; registerSpeedViews, alignHorizon and
// collectEpochs, which touch several partitions, lock them in ascending order. Nobody takes a
// partition lock while holding a view lock, so no cycle (no deadlock) can form. Realtime rows
// of a partition are written only under that partition's lock.
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { CombineEncoded, Horizon, SpeedCommit, SpeedPartition, SpeedView } from '../store.ts'
import { type Client, type Db, inTransaction } from './connection.ts'
import { storedKey } from './keys.ts'

const PARTITION_COLUMNS = `partition, owner, next_offset AS "offset", epochs, required`

function fenced(message: string): StrataError {
  return new StrataError(ErrorCodes.FENCED, message, { status: 409 })
}

function toPartition(row: SpeedPartition): SpeedPartition {
  const { partition, offset, epochs, required, owner } = row
  return { partition, offset, epochs, required, owner }
}

async function lockPartitions(
  db: Db,
  client: Client,
  partitions: number[],
): Promise<Map<number, SpeedPartition>> {
  const { rows } = await client.query<SpeedPartition>(
    `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions
      WHERE partition = ANY($1::integer[]) ORDER BY partition FOR UPDATE`,
    [partitions],
  )
  return new Map(rows.map((r) => [r.partition, toPartition(r)]))
}

async function savePartition(db: Db, client: Client, p: SpeedPartition): Promise<void> {
  await client.query({
    name: 'strata_save_partition',
    text: `UPDATE ${db.S}.speed_partitions SET owner = $2, next_offset = $3, epochs = $4, required = $5
            WHERE partition = $1`,
    values: [p.partition, p.owner, p.offset, p.epochs, p.required],
  })
}

/** Rows with owner 0 only carry required boundaries for a first claimer (see alignHorizon). */
const claimed = (p: SpeedPartition | undefined): SpeedPartition | undefined =>
  p !== undefined && p.owner > 0 ? p : undefined

export function claimPartition(db: Db, partition: number, initial: number): Promise<SpeedPartition> {
  return inTransaction(db.pool, async (client) => {
    await client.query(
      `INSERT INTO ${db.S}.speed_partitions (partition, owner, next_offset, epochs, required)
       VALUES ($1, 0, $2, ARRAY[$2::bigint], '{}') ON CONFLICT (partition) DO NOTHING`,
      [partition, initial],
    )
    const before = (await lockPartitions(db, client, [partition])).get(partition)!
    const state: SpeedPartition =
      before.owner > 0
        ? { ...before, owner: before.owner + 1 }
        : // First claim: boundaries required before it stand, those at or below the start are met.
          {
            partition,
            offset: initial,
            epochs: [initial],
            required: before.required.filter((b) => b > initial),
            owner: 1,
          }
    await savePartition(db, client, state)
    return state
  })
}

export async function speedPartitions(db: Db): Promise<SpeedPartition[]> {
  const { rows } = await db.pool.query<SpeedPartition>(
    `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions WHERE owner > 0 ORDER BY partition`,
  )
  return rows.map(toPartition)
}

async function readViews(db: Db, client: Client | Db['pool']): Promise<SpeedView[]> {
  const { rows } = await client.query<SpeedView>(
    `SELECT view, code_hash AS "codeHash", start FROM ${db.S}.speed_views ORDER BY view`,
  )
  return rows.map(({ view, codeHash, start }) => ({ view, codeHash, start }))
}

export function speedViews(db: Db): Promise<SpeedView[]> {
  return readViews(db, db.pool)
}

export function registerSpeedViews(
  db: Db,
  views: Array<{ view: string; codeHash: string }>,
  partitions: number,
): Promise<SpeedView[]> {
  return inTransaction(db.pool, async (client) => {
    const names = views.map((v) => v.view)
    const recordedHashes = async (lock: string) => {
      const { rows } = await client.query(
        `SELECT view, code_hash FROM ${db.S}.speed_views WHERE view = ANY($1::text[]) ORDER BY view ${lock}`,
        [names],
      )
      return new Map<string, string>(rows.map((r) => [r.view, r.code_hash]))
    }
    // The usual case (a worker restarting with the same definitions) takes no lock at all.
    const seen = await recordedHashes('')
    if (views.every((v) => seen.get(v.view) === v.codeHash)) return readViews(db, client)

    // Lock order: partitions, then views. The offsets read here are where the changed views
    // restart, so no commit may move them before this transaction ends.
    const { rows: held } = await client.query<SpeedPartition>(
      `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions
        WHERE partition < $1 AND owner > 0 ORDER BY partition FOR UPDATE`,
      [partitions],
    )
    const byPartition = new Map(held.map((r) => [r.partition, toPartition(r)]))
    const recorded = await recordedHashes('FOR UPDATE')
    const changed = views.filter((v) => recorded.get(v.view) !== v.codeHash)
    if (changed.length === 0) return readViews(db, client)

    // New or changed definitions restart at the current offsets, which every partition must
    // seal at (so no epoch mixes two definitions).
    const start: Horizon = []
    for (let p = 0; p < partitions; p++) {
      const state = byPartition.get(p)
      start.push(state?.offset ?? 0)
      if (state && !state.epochs.includes(state.offset) && !state.required.includes(state.offset)) {
        await savePartition(db, client, {
          ...state,
          required: [...state.required, state.offset].sort((a, b) => a - b),
        })
      }
    }
    const redefined = changed.filter((v) => recorded.has(v.view)).map((v) => v.view)
    if (redefined.length > 0) {
      await client.query(`DELETE FROM ${db.S}.realtime WHERE view = ANY($1::text[])`, [redefined])
    }
    await client.query(
      `INSERT INTO ${db.S}.speed_views (view, code_hash, start)
       SELECT d.view, d.code_hash, $3::bigint[] FROM unnest($1::text[], $2::text[]) AS d(view, code_hash)
       ON CONFLICT (view) DO UPDATE SET code_hash = EXCLUDED.code_hash, start = EXCLUDED.start`,
      [changed.map((v) => v.view), changed.map((v) => v.codeHash), start],
    )
    return readViews(db, client)
  })
}

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
      const { partition, owner, from, offset, deltas, seals } = commit
      const { rows: found } = await client.query<SpeedPartition>({
        name: 'strata_lock_partition',
        text: `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions WHERE partition = $1 FOR UPDATE`,
        values: [partition],
      })
      const state = claimed(found[0] && toPartition(found[0]))
      if (!state || state.owner !== owner) {
        throw fenced(
          `partition ${partition} is owned by another speed worker (token ${state?.owner}, not ${owner})`,
        )
      }
      if (state.offset !== from) {
        throw fenced(
          `partition ${partition} is at offset ${state.offset}, not ${from}: another writer moved it`,
        )
      }
      const views = Object.keys(commit.hashes)
      if (views.length > 0) {
        // Shared: other partitions' commits read the same rows; registerSpeedViews waits for us.
        const { rows } = await client.query({
          name: 'strata_share_views',
          text: `SELECT view, code_hash FROM ${db.S}.speed_views WHERE view = ANY($1::text[]) ORDER BY view FOR SHARE`,
          values: [views],
        })
        const recorded = new Map<string, string>(rows.map((r) => [r.view, r.code_hash]))
        for (const [view, codeHash] of Object.entries(commit.hashes)) {
          if (recorded.get(view) !== codeHash) {
            throw fenced(
              `view ${view} is defined differently now; restart the speed worker with the current config`,
            )
          }
        }
      }
      // Rule 3: a required boundary in (from, offset] must be sealed by this commit — or, when it
      // equals `from`, it must already start an epoch.
      const open = state.epochs[state.epochs.length - 1]
      for (const b of state.required) {
        if (b === from && open !== from && !seals.includes(b)) {
          throw fenced(`partition ${partition}: required boundary ${b} was not sealed`)
        }
        if (b > from && b <= offset && !seals.includes(b)) {
          throw fenced(`partition ${partition}: required boundary ${b} was not sealed`)
        }
      }
      const epochs = [...state.epochs]
      for (const seal of seals) {
        if (seal < from || seal > offset || seal <= epochs[epochs.length - 1]) {
          throw new StrataError(
            ErrorCodes.INTERNAL,
            `partition ${partition}: bad seal ${seal} in [${from}, ${offset}]`,
          )
        }
        epochs.push(seal)
      }
      const writable = new Set([open, ...seals])
      for (const { epoch } of deltas) {
        if (!writable.has(epoch)) {
          throw new StrataError(
            ErrorCodes.INTERNAL,
            `partition ${partition}: delta for closed epoch ${epoch}`,
          )
        }
      }
      if (deltas.length > 0) await writeDeltas(db, client, partition, commit, combine)
      await savePartition(db, client, {
        ...state,
        offset,
        epochs,
        required: state.required.filter((b) => b > offset),
      })
    },
    COMMIT_BEGIN,
  )
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
  for (const { view, key: raw, window, epoch, state } of commit.deltas) {
    const key = storedKey(raw)
    const id = rowId(view, key, window, epoch)
    const before = rows.get(id)
    if (before) before.state = combine(view, before.state, state)
    else rows.set(id, { view, key, window, epoch, state })
  }
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

export function alignHorizon(db: Db, wished: Horizon, floor: Horizon): Promise<Horizon> {
  return inTransaction(db.pool, async (client) => {
    const targets = wished.map((want, p) => Math.max(want, floor[p] ?? 0))
    // A partition no worker has claimed yet gets a row (owner 0) carrying the boundary, so its
    // first claimer must seal there: recording nothing would let it pass the horizon unsealed.
    const unclaimedCandidates = targets.flatMap((t, p) => (t > 0 ? [p] : []))
    if (unclaimedCandidates.length > 0) {
      await client.query(
        `INSERT INTO ${db.S}.speed_partitions (partition, owner, next_offset, epochs, required)
         SELECT p, 0, 0, '{}', '{}' FROM unnest($1::integer[]) AS p ON CONFLICT (partition) DO NOTHING`,
        [unclaimedCandidates],
      )
    }
    const locked = await lockPartitions(
      db,
      client,
      targets.map((_, p) => p),
    )
    const aligned: Horizon = []
    for (const [p, target] of targets.entries()) {
      const row = locked.get(p)
      const state = claimed(row)
      if (!state) {
        if (row && target > 0 && !row.required.includes(target)) {
          await savePartition(db, client, {
            ...row,
            required: [...row.required, target].sort((a, b) => a - b),
          })
        }
        aligned.push(target)
      } else if (state.epochs.includes(target)) {
        aligned.push(target)
      } else if (state.offset <= target) {
        if (!state.required.includes(target)) {
          await savePartition(db, client, {
            ...state,
            required: [...state.required, target].sort((a, b) => a - b),
          })
        }
        aligned.push(target)
      } else {
        // The speed layer passed it without sealing: the largest boundary at or below it.
        const least = floor[p] ?? 0
        const below = state.epochs.filter((e) => e <= target && e >= least)
        aligned.push(below.length > 0 ? below[below.length - 1] : -1)
      }
    }
    return aligned
  })
}

/** The epoch a partition keeps from when collecting below `bound` (undefined: nothing to drop). */
function keepFrom(state: SpeedPartition | undefined, bound: number): number | undefined {
  if (!state) return undefined
  // An epoch ends where the next begins; keep the one containing `bound` and later ones.
  const keep = state.epochs.filter((e) => e <= bound).pop()
  return keep === undefined || keep === state.epochs[0] ? undefined : keep
}

// One transaction per partition: rule 6 holds partition by partition, and a partition's commits
// wait only for its own deletes, not for the whole collection.
export async function collectEpochs(db: Db, below: Horizon): Promise<void> {
  const candidates = (await speedPartitions(db)).filter(
    (s) => keepFrom(s, below[s.partition] ?? -1) !== undefined,
  )
  for (const { partition } of candidates) {
    await inTransaction(db.pool, async (client) => {
      const state = claimed((await lockPartitions(db, client, [partition])).get(partition))
      const keep = keepFrom(state, below[partition])
      if (!state || keep === undefined) return
      await client.query(`DELETE FROM ${db.S}.realtime WHERE partition = $1 AND epoch < $2`, [
        partition,
        keep,
      ])
      await savePartition(db, client, { ...state, epochs: state.epochs.filter((e) => e >= keep) })
    })
  }
}
