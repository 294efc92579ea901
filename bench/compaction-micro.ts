// The compactor alone (no Kafka, no speed worker): CPU per delta of folding N distinct keys of
// pageviews_by_url's shape (a url each, 24 one-hour windows in time order) as a catch-up does —
// commits of 16,000 deltas logged one by one, passes folded while the log holds more than
// --threshold deltas, the rest after — into a fresh LMDB store. A diagnosis aid for
// bench/memory.ts's CPU per event at 10 M keys against 1 M (decision 0011, "The dirty-page list");
// run it under `perf record -g -p <pid>` to see LMDB's own functions.
//
//   node bench/compaction-micro.ts --keys=8000000 [--pass=50000] [--threshold=2000000]
//     [--load=N: lmdb-js maxFreeSpaceToLoad] [--writemap=1: lmdb-js useWritemap]
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'lmdb'
import { ChecksummedValues } from '../src/store/lmdb-checksum.ts'
import { appendLog, compactLog, logRowOf } from '../src/store/lmdb-speed-log.ts'
import { LMDB_MAP_BYTES } from '../src/store/lmdb-store.ts'
import { arg } from './lib/stats.ts'

const n = arg('keys', 8_000_000)
const pass = arg('pass', 50_000)
const threshold = arg('threshold', 2_000_000)
const load = arg('load', 0)
const writemap = arg('writemap', 0) === 1
const dir = await mkdtemp(join(tmpdir(), 'strata-compaction-micro-'))
type Key = (string | number | boolean)[]
const db = open<unknown, Key>({
  path: dir,
  compression: false,
  encoder: new ChecksummedValues(),
  mapSize: LMDB_MAP_BYTES,
  ...(writemap ? { useWritemap: true } : {}),
  ...(load ? { maxFreeSpaceToLoad: load, maxFreeSpaceToRetain: load * 1.5 } : {}),
} as never)
await db.transaction(() => {
  for (let p = 0; p < 6; p++) db.put(['sp', p], { partition: p, epochs: [0] })
  db.put(['sv', 'v'], { name: 'v', codeHash: 'h', start: [] })
})
const base = 1_700_000_000_000
const HOUR = 3_600_000
const perRow = 16_000
const combine = (_v: string, a: unknown, b: unknown) => (a as number) + (b as number)
let logged = 0
const cpu0 = process.cpuUsage()
let foldCpu = 0
for (let i = 0; i < n; ) {
  await db.transaction(() => {
    // As a fold thread's commit arrives (DeltaColumns), through the store's own logRowOf.
    const m = Math.min(perRow, n - i)
    const keys: string[] = []
    const windows = new Float64Array(m)
    for (let j = 0; j < m; j++, i++) {
      const ts = base + Math.floor((i * 24 * HOUR) / n)
      keys.push(`/p/${(i * 7919) % n}`)
      windows[j] = ts - (ts % HOUR)
    }
    const deltas = {
      views: ['v'],
      view: new Uint16Array(m),
      epochs: new Float64Array(m),
      windows,
      keys,
      states: new Float64Array(m).fill(1),
    }
    appendLog(
      db,
      logRowOf({ partition: i % 6, offset: i, deltas } as never, (key) => key),
    )
    logged += m
  })
  while (logged > threshold) {
    const c = process.cpuUsage()
    const { deltas } = await compactLog(db, () => combine, pass)
    const u = process.cpuUsage(c)
    foldCpu += u.user + u.system
    logged -= deltas
  }
}
const caught = process.cpuUsage(cpu0)
for (;;) {
  const { deltas } = await compactLog(db, () => combine, pass)
  if (deltas === 0) break
}
const all = process.cpuUsage(cpu0)
const s = db.getStats() as { treeLeafPageCount: number }
console.log(
  `keys ${n} pass ${pass} load ${load} writemap ${writemap}: total ${((all.user + all.system) / n).toFixed(2)} µs/delta (sys ${(all.system / n).toFixed(2)}); catch-up ${((caught.user + caught.system) / n).toFixed(2)} of which folding ${(foldCpu / n).toFixed(2)}; fold after ${((all.user + all.system - caught.user - caught.system) / n).toFixed(2)}; leaves ${s.treeLeafPageCount}`,
)
await db.close()
await rm(dir, { recursive: true, force: true })
