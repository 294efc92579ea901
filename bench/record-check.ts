// The speed layer's record check alone: eventCheck (JSON.parse of the whole record and the walk
// of src/core/event.ts) against the projected check (src/core/projected-check.ts) on the records
// bench/speed-catchup.ts preloads, for the fields its view pageviews_by_url reads. Alternating
// rounds in one process; prints ns of CPU per record (this thread) for each.
//
//   node bench/record-check.ts [--records=200000] [--rounds=5]
import './lib/help.ts' // --help: the comment above, then exit
import { eventCheck, type RecordCheck } from '../src/core/event.ts'
import { projectedEventCheck } from '../src/core/projected-check.ts'
import { eventAt } from './lib/kafka-bench.ts'
import { median } from './lib/stats.ts'

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback)
const n = arg('records', 200_000)
const rounds = arg('rounds', 5)
const base = Date.now() - 86_400_000
const records = Array.from({ length: n }, (_, i) => Buffer.from(eventAt(i, n, base).value))
const checks: Array<[string, RecordCheck]> = [
  ['eventCheck (JSON.parse, whole event)', eventCheck('ts')],
  ['projected (ts, type, url)', projectedEventCheck('ts', ['ts', 'type', 'url'])],
]
const times = new Map<string, number[]>(checks.map(([name]) => [name, []]))
let sink = 0
for (let r = 0; r <= rounds; r++) {
  for (const [name, check] of r % 2 === 0 ? checks : [...checks].reverse()) {
    const start = process.threadCpuUsage()
    for (const value of records) if ('event' in check(value)) sink++
    const used = process.threadCpuUsage(start)
    if (r > 0) times.get(name)!.push(((used.user + used.system) * 1000) / n)
  }
}
for (const [name, ns] of times)
  console.log(
    `${name}: ${median(ns).toFixed(0)} ns/record (rounds ${ns.map((x) => x.toFixed(0)).join(', ')})`,
  )
if (sink === 0) console.log('nothing accepted')
