// Micro-benchmark of the shared hot path: folding pre-parsed events through the example views
// with compileView().fold, beside a plain Map loop computing the same hourly counts.
//
//   node bench/view-fold.ts [events=2000000]
//
// Events are produced by JSON.parse, like the layers see them, and made afresh for every timed
// run, so no string arrives with its hash already cached. Parsing is not timed: this measures
// the view machinery alone. Each run is preceded by a warm-up on other events.
import './lib/help.ts' // --help: the comment above, then exit
import { compileViews, type StrataEvent, type ViewTable } from '../src/index.ts'

const n = Number(process.argv[2] ?? 2_000_000)
const urls = 2000
const users = 50_000
const start = Date.UTC(2026, 0, 1)

function makeEvents(n: number, seed: number): StrataEvent[] {
  const events: StrataEvent[] = []
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed / 2 ** 32
  }
  for (let i = 0; i < n; i += 10_000) {
    const lines: string[] = []
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      const type = random() < 0.8 ? 'page_view' : 'click'
      // Zipf-ish URL popularity, a week of time in order with some jitter.
      const url = `/page/${Math.floor(urls * random() ** 3)}`
      const user = `user-${Math.floor(users * random())}`
      const ts = start + Math.floor((j / n) * 7 * 86_400_000 + random() * 60_000)
      lines.push(JSON.stringify({ type, url, user, ts }))
    }
    for (const e of JSON.parse(`[${lines.join(',')}]`)) events.push(e)
  }
  return events
}

function time(label: string, run: (events: StrataEvent[]) => number): void {
  run(makeEvents(200_000, 7)) // warm up: let V8 optimize the closures
  const events = makeEvents(n, 1)
  const t0 = process.hrtime.bigint()
  const groups = run(events)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const rate = n / seconds / 1e6
  console.log(`${label.padEnd(28)} ${rate.toFixed(2).padStart(6)} M events/s  (${groups} groups)`)
}

const config = (await import('../examples/pageviews/strata.config.ts')).default
const views = compileViews(config)
console.log(`${n} events, ${urls} urls, ${users} users, node ${process.version}`)

for (const v of views) {
  time(v.name, (events) => {
    const table: ViewTable<unknown> = v.createTable()
    for (let i = 0; i < events.length; i++) v.fold(table, events[i])
    return table.size
  })
}

time('all three views, one pass', (events) => {
  const tables = views.map((v) => v.createTable())
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    for (let j = 0; j < views.length; j++) views[j].fold(tables[j], e)
  }
  return tables.reduce((s, t) => s + t.size, 0)
})

time('baseline: Map, string key', (events) => {
  const counts = new Map<string, number>()
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    if (e.type !== 'page_view') continue
    const key = `${e.url}|${Math.floor((e.ts as number) / 3_600_000)}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts.size
})
