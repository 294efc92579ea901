// Writing one batch version alone (stageBatch → putKeyed → commit, what the main thread does at
// the end of a batch run), for an A/B of two checkouts in one process, alternating: each
// checkout's own lmdb-store.ts on a store of its own, --keys keys of --windows hourly windows
// each (10,000 × 9: bench/batch-runs.ts's pageviews_by_url), the keyed columns in the fold's
// order (window after window). Prints the median main-thread CPU of a commit per checkout.
//
//   node bench/batch-write-micro.ts --checkout=PATH [--checkout=PATH] [--keys=10000] [--windows=9] [--rounds=15]
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { arg, median } from './lib/stats.ts'

const keyCount = arg('keys', 10_000)
const windowCount = arg('windows', 9)
const rounds = arg('rounds', 15)
const checkouts = process.argv.filter((a) => a.startsWith('--checkout=')).map((a) => resolve(a.slice(11)))
if (checkouts.length === 0) checkouts.push(join(import.meta.dirname, '..'))

const keys = Array.from({ length: keyCount }, (_, i) => `/p/${i}`)
const n = keyCount * windowCount
const keyIndex = new Uint32Array(n)
const windows = new Float64Array(n)
const states = new Array<number>(n)
for (let w = 0, i = 0; w < windowCount; w++) {
  for (let k = 0; k < keyCount; k++, i++) {
    keyIndex[i] = (k * 7919) % keyCount
    windows[i] = 1764000000000 + w * 3_600_000
    states[i] = 1 + ((k * 31 + w) % 97)
  }
}

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-batch-write-'))
try {
  const stores = await Promise.all(
    checkouts.map(async (c, i) => {
      const { openLmdbStore } = await import(pathToFileURL(join(c, 'src/store/lmdb-store.ts')).href)
      return openLmdbStore(join(dir, `store-${i}`))
    }),
  )
  const spent = checkouts.map(() => [] as number[])
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < checkouts.length; i++) {
      await sleep(300) // the retired version is dropped in the background
      const m0 = process.threadCpuUsage()
      const stage = await stores[i].stageBatch('pageviews_by_url')
      await stage.putKeyed({ keys, keyIndex, windows, states })
      await stage.commit({
        codeHash: 'h',
        horizon: {},
        events: n,
        groups: n,
        startedAt: r,
        completedAt: r + 1,
      })
      const m = process.threadCpuUsage(m0)
      if (r > 1) spent[i]!.push((m.user + m.system) / 1000)
    }
  }
  for (let i = 0; i < checkouts.length; i++) {
    console.log(
      `${checkouts[i]}: commit main thread median ${median(spent[i]!).toFixed(1)} ms (${spent[i]!.map((x) => x.toFixed(0)).join(' ')})`,
    )
  }
  for (const s of stores) await s.close()
} finally {
  await rm(dir, { recursive: true, force: true })
}
