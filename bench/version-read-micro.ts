// store.snapshotVersion alone (src/store/lmdb-version-read.ts, BENCHMARKS.md "2026-12-07 session 16"):
// µs per call of an LMDB store's `snapshotVersion()`, called `per` times in each event-loop turn
// (setImmediate), as the query fast path calls it once per request it could answer from a kept
// body; beside it a get of the row per call (the read before session 16). Median of --rounds
// rounds of --turns turns, per `per` in --per.
//
//   node bench/version-read-micro.ts [--turns=40000] [--rounds=3] [--per=1,2,4] [--root=DIR]
// --root: the worktree whose src/ is measured (default: this one), for an A/B under one script.
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { arg } from './lib/stats.ts'

const turns = arg('turns', 40_000)
const rounds = arg('rounds', 3)
const pers = (process.argv.find((a) => a.startsWith('--per='))?.slice(6) ?? '1,2,4').split(',').map(Number)
const root = resolve(
  process.argv.find((a) => a.startsWith('--root='))?.slice(7) ?? new URL('..', import.meta.url).pathname,
)
const { openLmdbStore } = await import(`${root}/src/store/lmdb-store.ts`)
const dir = mkdtempSync(join(tmpdir(), 'strata-version-micro-'))
const store = await openLmdbStore(dir, { compactor: { auto: false } })
const expected = store.snapshotVersion()
const run = async (per: number): Promise<number> => {
  let busy = 0n
  for (let t = 0; t < turns; t++) {
    await new Promise((r) => setImmediate(r))
    const start = process.hrtime.bigint()
    for (let k = 0; k < per; k++) if (store.snapshotVersion() !== expected) throw new Error('version moved')
    busy += process.hrtime.bigint() - start
  }
  return Number(busy) / turns / per / 1000
}
for (const per of pers) {
  await run(per) // warm-up
  const us: number[] = []
  for (let r = 0; r < rounds; r++) us.push(await run(per))
  us.sort((a, b) => a - b)
  console.log(`${root}: ${per} a turn: ${us[us.length >> 1]!.toFixed(3)} µs a call (median of ${rounds})`)
}
await store.close()
rmSync(dir, { recursive: true, force: true })
