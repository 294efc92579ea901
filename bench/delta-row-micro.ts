// The main thread's work per delta of a commit, alone (no Kafka, no threads, no LMDB): a commit of
// 8,600 url-like keys as a fold thread sends its columns (the user-keyed catch-up's window of
// 20,000 records, BENCHMARKS.md session 19), checked (speed-rules.ts checkSpeedCommit) and turned
// into its log row (lmdb-log-row.ts logRowOf, every key's stored form asked as lmdb-speed.ts asks
// it, then storedRow). Give several checkouts to compare them in one process, run alternately
// (12 rounds each, the first 2 dropped): CPU ns per delta, min / median.
//
//   node bench/delta-row-micro.ts [checkout …]   (default: this checkout)
import './lib/help.ts' // --help: the comment above, then exit
import { resolve } from 'node:path'

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'))
if (roots.length === 0) roots.push('.')
const N = 8_600
const COMMITS = 200

interface Checkout {
  root: string
  check: (state: unknown, commit: unknown, recorded: ReadonlyMap<string, string>) => unknown
  logRowOf: (commit: unknown, stored: (key: string) => string) => unknown
  storedRow: (row: unknown) => unknown
  storedForm: (key: string) => string
  times: number[]
}

const checkouts: Checkout[] = []
for (const root of roots) {
  const at = resolve(root)
  const rules = await import(`${at}/src/store/speed-rules.ts`)
  const row = await import(`${at}/src/store/lmdb-log-row.ts`)
  const keys = await import(`${at}/src/store/long-keys.ts`)
  checkouts.push({
    root,
    check: rules.checkSpeedCommit,
    logRowOf: row.logRowOf,
    storedRow: row.storedRow,
    storedForm: keys.storedForm,
    times: [],
  })
}

// Each commit's keys are new strings, as unpackDeltas slices them from the thread's key text.
const text = Array.from({ length: N }, (_, i) => `/page/${(i * 7919) % 10_000}`).join('')
const state = { partition: 0, offset: 0, epochs: [0], required: [], owner: 1 }
const recorded = new Map([['pageviews_by_url', 'h']])
const commitAt = () => {
  const keys: string[] = []
  for (let i = 0, at = 0; i < N; i++) {
    const n = `/page/${(i * 7919) % 10_000}`.length
    keys.push(text.slice(at, at + n))
    at += n
  }
  return {
    partition: 0,
    owner: 1,
    hashes: { pageviews_by_url: 'h' },
    from: 0,
    offset: 20_000,
    seals: [],
    deltas: {
      views: ['pageviews_by_url'],
      view: new Uint16Array(N),
      epochs: new Float64Array(N),
      windows: Float64Array.from({ length: N }, (_, i) => 1_700_000_000_000 + (i % 2) * 3_600_000),
      keys,
      states: Float64Array.from({ length: N }, (_, i) => 1 + (i % 5)),
    },
  }
}

let sink = 0
for (let round = 0; round < 12; round++) {
  for (const c of checkouts) {
    const commits = Array.from({ length: COMMITS }, commitAt)
    const start = process.cpuUsage()
    for (const commit of commits) {
      c.check(state, commit, recorded)
      const row = c.logRowOf(commit, (key) => c.storedForm(key)) as { keys: string[] }
      sink += (c.storedRow(row) as { k: string[] }).k.length
    }
    const used = process.cpuUsage(start)
    if (round >= 2) c.times.push(((used.user + used.system) * 1000) / (COMMITS * N))
  }
}
for (const c of checkouts) {
  const sorted = [...c.times].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(`${c.root}: ${sorted[0]!.toFixed(1)} / ${median.toFixed(1)} ns per delta (min / median)`)
}
if (sink === 0) console.log('')
