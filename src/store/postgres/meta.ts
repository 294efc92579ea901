// The store's record of what it was built from (src/runtime/source-identity.ts), and `strata
// reset`'s emptying of every table.
import type { Db } from './connection.ts'

export async function readMeta(db: Db, name: string): Promise<unknown> {
  const { rows } = await db.pool.query<{ value: unknown }>(
    `SELECT value FROM ${db.S}.strata_meta WHERE name = $1`,
    [name],
  )
  return rows[0]?.value
}

/** Inserts unless present, then reads: two racing writers both get the first one's value. */
export async function claimMeta(db: Db, name: string, value: unknown): Promise<unknown> {
  await db.pool.query(
    `INSERT INTO ${db.S}.strata_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
    [name, JSON.stringify(value)],
  )
  return readMeta(db, name)
}

/** Inserts or replaces (a role's heartbeat: the last writer's value is the one that counts). */
export async function writeMeta(db: Db, name: string, value: unknown): Promise<void> {
  await db.pool.query(
    `INSERT INTO ${db.S}.strata_meta (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
    [name, JSON.stringify(value)],
  )
}

export async function deleteMeta(db: Db, name: string): Promise<void> {
  await db.pool.query(`DELETE FROM ${db.S}.strata_meta WHERE name = $1`, [name])
}

export async function listMeta(db: Db, prefix: string): Promise<Array<[string, unknown]>> {
  const { rows } = await db.pool.query<{ name: string; value: unknown }>(
    `SELECT name, value FROM ${db.S}.strata_meta WHERE starts_with(name, $1) ORDER BY name`,
    [prefix],
  )
  return rows.map((r) => [r.name, r.value])
}

/** Every table but the migrations' own record (a new migration's table belongs here too). */
export async function clearAll(db: Db): Promise<void> {
  const S = db.S
  await db.pool.query(
    `TRUNCATE ${S}.batch_views, ${S}.batch_versions, ${S}.batch_entries, ${S}.batch_history,
      ${S}.speed_partitions, ${S}.speed_views, ${S}.realtime, ${S}.strata_meta RESTART IDENTITY`,
  )
}
