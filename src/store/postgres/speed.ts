// The speed layer's state in PostgreSQL. Each function is one transaction, and does what
// lmdb-speed.ts does: the decisions are speed-rules.ts (docs/horizon.md is the argument), and
// this file only reads, writes and locks. Where LMDB gets isolation from its single writer, here
// it comes from row locks taken in one global order:
//
//   speed_partitions rows (ascending partition)  →  speed_views rows (ascending view)
//
// commitSpeed (speed-commit.ts) locks only its own partition's row and shares the view rows, so
// commits on different partitions never wait for each other; registerSpeedViews, alignHorizon
// and collectEpochs, which touch several partitions, lock them in ascending order. Nobody takes a
// partition lock while holding a view lock, so no cycle (no deadlock) can form. Realtime rows
// of a partition are written only under that partition's lock.
import {
  alignPartition,
  claimState,
  collectedState,
  collectionBound,
  keepFrom,
  registration,
  restartPartition,
} from '../speed-rules.ts'
import type { BatchViewMeta, Horizon, SpeedPartition, SpeedView } from '../store.ts'
import { type Client, type Db, inTransaction } from './connection.ts'

export const PARTITION_COLUMNS = `partition, owner, next_offset AS "offset", epochs, required`

export function toPartition(row: SpeedPartition): SpeedPartition {
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

export async function savePartition(db: Db, client: Client, p: SpeedPartition): Promise<void> {
  await client.query({
    name: 'strata_save_partition',
    text: `UPDATE ${db.S}.speed_partitions SET owner = $2, next_offset = $3, epochs = $4, required = $5
            WHERE partition = $1`,
    values: [p.partition, p.owner, p.offset, p.epochs, p.required],
  })
}

/** Rows with owner 0 only carry required boundaries for a first claimer (see alignHorizon). */
export const claimed = (p: SpeedPartition | undefined): SpeedPartition | undefined =>
  p !== undefined && p.owner > 0 ? p : undefined

export function claimPartition(db: Db, partition: number, initial: number): Promise<SpeedPartition> {
  return inTransaction(db.pool, async (client) => {
    await client.query(
      `INSERT INTO ${db.S}.speed_partitions (partition, owner, next_offset, epochs, required)
       VALUES ($1, 0, $2, ARRAY[$2::bigint], '{}') ON CONFLICT (partition) DO NOTHING`,
      [partition, initial],
    )
    const row = (await lockPartitions(db, client, [partition])).get(partition)!
    // A row with owner 0 was never claimed: it only carries what the first claimer owes.
    const before = claimed(row)
    const state = claimState(before, before ? [] : row.required, partition, initial)
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

export async function speedPartition(db: Db, partition: number): Promise<SpeedPartition | undefined> {
  const { rows } = await db.pool.query<SpeedPartition>({
    name: 'strata_read_partition',
    text: `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions WHERE partition = $1 AND owner > 0`,
    values: [partition],
  })
  return rows.length > 0 ? toPartition(rows[0]) : undefined
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
    const recordedHashes = async (lock: '' | 'FOR UPDATE') => {
      const { rows } = await client.query(
        `SELECT view, code_hash FROM ${db.S}.speed_views ORDER BY view ${lock}`,
      )
      return new Map<string, string>(rows.map((r) => [r.view, r.code_hash]))
    }
    // The usual case (a worker restarting with the same definitions) takes no lock at all.
    const seen = registration(await recordedHashes(''), views)
    if (seen.restarted.length === 0 && seen.forgotten.length === 0) return readViews(db, client)

    // Lock order: partitions, then views. The offsets read here are where the changed views
    // restart, so no commit may move them before this transaction ends; and no commit may see
    // the views half changed (a commit locks its partition, then reads every view). Every
    // partition, claimed or not: one never claimed gets a row (owner 0, as alignHorizon makes) so
    // that its first claim waits for us too. Unlocked, it was claimed and committed meanwhile by
    // a worker lacking an added view — its commit's snapshot predates the view's row — while the
    // view started there at 0: the events of that commit counted zero times for it.
    await client.query(
      `INSERT INTO ${db.S}.speed_partitions (partition, owner, next_offset, epochs, required)
       SELECT p, 0, 0, '{}', '{}' FROM generate_series(0, $1::integer - 1) AS p
       ON CONFLICT (partition) DO NOTHING`,
      [partitions],
    )
    const { rows: held } = await client.query<SpeedPartition>(
      `SELECT ${PARTITION_COLUMNS} FROM ${db.S}.speed_partitions
        WHERE partition < $1 ORDER BY partition FOR UPDATE`,
      [partitions],
    )
    const byPartition = new Map(held.flatMap((r) => (r.owner > 0 ? [[r.partition, toPartition(r)]] : [])))
    const recorded = await recordedHashes('FOR UPDATE')
    const { restarted, forgotten } = registration(recorded, views)
    if (restarted.length === 0 && forgotten.length === 0) return readViews(db, client)

    // Forgotten views go with their realtime states; new or changed definitions restart at the
    // current offsets, their old definition's states dropped.
    const dropped = [...forgotten, ...restarted.filter((v) => recorded.has(v.view)).map((v) => v.view)]
    if (dropped.length > 0) {
      await client.query(`DELETE FROM ${db.S}.realtime WHERE view = ANY($1::text[])`, [dropped])
      await client.query(`DELETE FROM ${db.S}.view_errors WHERE view = ANY($1::text[])`, [dropped])
    }
    if (forgotten.length > 0) {
      await client.query(`DELETE FROM ${db.S}.speed_views WHERE view = ANY($1::text[])`, [forgotten])
    }
    if (restarted.length === 0) return readViews(db, client)
    const start: Horizon = []
    for (let p = 0; p < partitions; p++) {
      const state = byPartition.get(p)
      const restart = restartPartition(state)
      start.push(restart.start)
      if (state && restart.required) await savePartition(db, client, { ...state, required: restart.required })
    }
    await client.query(
      `INSERT INTO ${db.S}.speed_views (view, code_hash, start)
       SELECT d.view, d.code_hash, $3::bigint[] FROM unnest($1::text[], $2::text[]) AS d(view, code_hash)
       ON CONFLICT (view) DO UPDATE SET code_hash = EXCLUDED.code_hash, start = EXCLUDED.start`,
      [restarted.map((v) => v.view), restarted.map((v) => v.codeHash), start],
    )
    return readViews(db, client)
  })
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
    for (const [p, wish] of wished.entries()) {
      const row = locked.get(p)
      const state = claimed(row)
      const { horizon, required } = alignPartition(
        state,
        state ? [] : (row?.required ?? []),
        wish,
        floor[p] ?? 0,
      )
      // An unclaimed partition owes a boundary only above 0, and has a row there (inserted above).
      if (required) await savePartition(db, client, { ...(state ?? row!), required })
      aligned.push(horizon)
    }
    return aligned
  })
}

// One transaction per partition: rule 6 holds partition by partition, and a partition's commits
// wait only for its own deletes, not for the whole collection. The bound is computed after the
// partition's lock is taken, from the served versions and recorded views read then (each
// statement reads what is committed when it starts): registerSpeedViews locks every partition
// before it changes a view, so a registration either committed before that read (and the view it
// added holds the bound) or waits for these deletes (and restarts the view at the partition's
// offset, above every epoch collected here).
export async function collectEpochs(db: Db, running: readonly string[]): Promise<void> {
  for (const { partition } of await speedPartitions(db)) {
    await inTransaction(db.pool, async (client) => {
      const state = claimed((await lockPartitions(db, client, [partition])).get(partition))
      if (!state) return
      const { rows } = await client.query(
        `SELECT served_meta FROM ${db.S}.batch_views WHERE served_version IS NOT NULL`,
      )
      const served: BatchViewMeta[] = rows.map((r) => r.served_meta)
      const bound = collectionBound(served, await readViews(db, client), running, partition)
      const keep = bound === undefined ? undefined : keepFrom(state, bound)
      if (keep === undefined) return
      await client.query(`DELETE FROM ${db.S}.realtime WHERE partition = $1 AND epoch < $2`, [
        partition,
        keep,
      ])
      await savePartition(db, client, collectedState(state, keep))
    })
  }
}
