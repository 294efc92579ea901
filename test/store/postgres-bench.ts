// The measurements behind docs/decisions/0003-postgres-store.md (not a test; no assertions):
//   node test/store/postgres-bench.ts [--variants]
// 1. Both stores through the Store interface: one speed commit of 10,000 deltas (new rows, then
//    the same rows again: read, combine, update), a batch version of 100,000 entries, and query
//    snapshots one at a time (p50/p99) and 8 at a time (throughput).
// 2. --variants: the PostgreSQL choices alone: the state column (jsonb, json, bytea) and the bulk
//    statement (a row per statement, unnest of arrays, json_to_recordset of one document).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import type { RealtimeDelta, Store } from '../../src/store/store.ts'
import { dropSchema, newSchemaName, testUrl } from './postgres-helpers.ts'

const N = 10_000
const RUNS = 7
const HOUR = 3_600_000
// Encoded states of two sizes: a count, and a distinct count's small-set envelope (~150 bytes).
const shapes = {
  count: (i: number) => i + 1,
  hll: (i: number) => ({
    type: 'hll',
    version: 1,
    precision: 12,
    hashes: Array.from({ length: 8 }, (_, j) => ((i + 1) * 7919 + j * 104_729) % 2 ** 52),
  }),
}
type Shape = keyof typeof shapes
const combine = (_view: string, a: unknown, b: unknown) =>
  typeof a === 'number' ? a + (b as number) : { ...(a as object), hashes: [...(a as any).hashes] }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const ms = (x: number) => `${x.toFixed(1)} ms`

async function timeIt(fn: (run: number) => Promise<unknown>, runs = RUNS): Promise<number> {
  const times: number[] = []
  for (let run = 0; run < runs; run++) {
    const t0 = performance.now()
    await fn(run)
    times.push(performance.now() - t0)
  }
  return median(times)
}

async function measureStore(name: string, store: Store, shape: Shape): Promise<void> {
  const make = shapes[shape]
  await store.registerSpeedViews([{ view: 'v', codeHash: 'h' }], 2)
  for (const p of [0, 1]) await store.claimPartition(p, 0)
  const offsets = [0, 0]
  const deltas = (run: number): RealtimeDelta[] =>
    Array.from({ length: N }, (_, i) => ({
      view: 'v',
      epoch: 0,
      key: `/page/${run}/${i}`,
      window: (i % 24) * HOUR,
      state: make(i),
    }))
  const commit = (p: number, ds: RealtimeDelta[]) => {
    const from = offsets[p]
    offsets[p] += ds.length
    return store.commitSpeed(
      { partition: p, owner: 1, hashes: { v: 'h' }, from, offset: offsets[p], seals: [], deltas: ds },
      combine,
    )
  }
  const fresh = await timeIt((run) => commit(0, deltas(run)))
  const again = await timeIt(() => commit(0, deltas(0)))

  const stage = await store.stageBatch('v')
  const t0 = performance.now()
  for (let chunk = 0; chunk < 10; chunk++) {
    await stage.put(
      Array.from({ length: N }, (_, i) => ({
        key: `/page/${chunk}/${i}`,
        window: (i % 24) * HOUR,
        state: make(i),
      })),
    )
  }
  await stage.commit({
    codeHash: 'h',
    horizon: [0, 0],
    events: 0,
    groups: 10 * N,
    startedAt: 0,
    completedAt: 1,
  })
  const batchMs = performance.now() - t0

  // The key read: 24 windows of batch entries in the served version, realtime rows of 2 partitions.
  const hot = '/page/0/0'
  const hotDeltas: RealtimeDelta[] = Array.from({ length: 24 }, (_, w) => ({
    view: 'v',
    epoch: 0,
    key: hot,
    window: w * HOUR,
    state: make(w),
  }))
  await commit(1, hotDeltas)
  const hotStage = await store.stageBatch('v')
  await hotStage.put(hotDeltas.map(({ key, window, state }) => ({ key, window, state })))
  await hotStage.commit({
    codeHash: 'h',
    horizon: [0, 0],
    events: 0,
    groups: 24,
    startedAt: 0,
    completedAt: 2,
  })
  const check = await store.snapshot('v', hot)
  if (check.batchEntries.length !== 24 || check.realtime.length !== 25) throw new Error('unexpected snapshot')
  for (let i = 0; i < 200; i++) await store.snapshot('v', hot) // warm-up
  const lat: number[] = []
  for (let i = 0; i < 2_000; i++) {
    const s = performance.now()
    await store.snapshot('v', hot)
    lat.push(performance.now() - s)
  }
  lat.sort((a, b) => a - b)
  const q0 = performance.now()
  let done = 0
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (done < 8_000) {
        done++
        await store.snapshot('v', `/page/${done % 7}/${done % N}`)
      }
    }),
  )
  const qps = 8_000 / ((performance.now() - q0) / 1000)
  console.log(
    [
      `${name}\t${shape}`,
      `commit ${N} new: ${ms(fresh)}`,
      `commit ${N} existing: ${ms(again)}`,
      `batch ${10 * N} entries + flip: ${ms(batchMs)}`,
      `snapshot p50 ${lat[1000].toFixed(3)} ms p99 ${lat[1980].toFixed(3)} ms`,
      `8 concurrent: ${Math.round(qps)}/s`,
    ].join('\t'),
  )
}

async function measureStores(): Promise<void> {
  for (const shape of Object.keys(shapes) as Shape[]) {
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-'))
    const lmdb = await openLmdbStore(dir)
    await measureStore('lmdb', lmdb, shape)
    await lmdb.close()
    rmSync(dir, { recursive: true, force: true })

    const schema = newSchemaName()
    const postgres = await openPostgresStore(testUrl, { schema })
    try {
      await measureStore('postgres', postgres, shape)
    } finally {
      await postgres.close()
      await dropSchema(schema)
    }
  }
}

async function measureVariants(): Promise<void> {
  const pool = new pg.Pool({ connectionString: testUrl, max: 1 })
  const schema = newSchemaName()
  const S = `"${schema}"`
  await pool.query(`CREATE SCHEMA ${S}`)
  try {
    for (const shape of Object.keys(shapes) as Shape[]) {
      for (const type of ['jsonb', 'json', 'bytea']) {
        await pool.query(`DROP TABLE IF EXISTS ${S}.t`)
        await pool.query(`CREATE TABLE ${S}.t (key text COLLATE "C", window_start bigint, epoch bigint,
          state ${type} NOT NULL, PRIMARY KEY (key, window_start, epoch))`)
        const rows = (run: number) =>
          Array.from({ length: N }, (_, i) => ({
            key: `/page/${i}`,
            w: (i % 24) * HOUR,
            e: run,
            s: shapes[shape](i),
          }))
        const encode = (s: unknown) => (type === 'bytea' ? Buffer.from(JSON.stringify(s)) : JSON.stringify(s))
        const cast = type === 'bytea' ? '' : `::${type}`
        const upsert = `INSERT INTO ${S}.t (key, window_start, epoch, state)`
        const onConflict = 'ON CONFLICT (key, window_start, epoch) DO UPDATE SET state = EXCLUDED.state'
        const perRow = await timeIt(async (run) => {
          const client = await pool.connect()
          await client.query('BEGIN')
          for (const r of rows(run)) {
            await client.query({
              name: `row_${type}`,
              text: `${upsert} VALUES ($1, $2, $3, $4${cast}) ${onConflict}`,
              values: [r.key, r.w, r.e, encode(r.s)],
            })
          }
          await client.query('COMMIT')
          client.release()
        }, 3)
        const unnest = await timeIt(async (run) => {
          const rs = rows(100 + run)
          await pool.query(
            `${upsert} SELECT k, w, e, s${cast} FROM unnest($1::text[], $2::int8[], $3::int8[], $4::${type === 'bytea' ? 'bytea' : 'text'}[]) AS d(k, w, e, s) ${onConflict}`,
            [rs.map((r) => r.key), rs.map((r) => r.w), rs.map((r) => r.e), rs.map((r) => encode(r.s))],
          )
        })
        let recordset = Number.NaN
        if (type !== 'bytea') {
          recordset = await timeIt(async (run) => {
            await pool.query(
              `${upsert} SELECT d.key, d.w, d.e, d.s${cast} FROM json_to_recordset($1::json) AS d(key text, w bigint, e bigint, s json) ${onConflict}`,
              [JSON.stringify(rows(200 + run))],
            )
          })
        }
        const read = await timeIt(async () => {
          const { rows: got } = await pool.query(
            `SELECT key, window_start, state FROM ${S}.t WHERE epoch = 100`,
          )
          if (type === 'bytea') for (const r of got) JSON.parse(r.state.toString())
        })
        const size = (await pool.query(`SELECT pg_table_size('${schema}.t') AS b`)).rows[0].b
        const rowsNow = (await pool.query(`SELECT count(*)::int AS n FROM ${S}.t`)).rows[0].n
        console.log(
          [
            `${shape}\t${type}`,
            `per-row: ${ms(perRow)}`,
            `unnest: ${ms(unnest)}`,
            `json_to_recordset: ${Number.isNaN(recordset) ? '-' : ms(recordset)}`,
            `read ${N}: ${ms(read)}`,
            `${Math.round(size / rowsNow)} bytes/row on disk`,
          ].join('\t'),
        )
      }
    }
  } finally {
    await pool.query(`DROP SCHEMA ${S} CASCADE`)
    await pool.end()
  }
}

if (process.argv.includes('--variants')) await measureVariants()
else await measureStores()
