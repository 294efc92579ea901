// The serving access line alone (serving/request-log.ts, BENCHMARKS.md "Query", session 15): µs per
// line of `accessLogger` over `createLogger('serve', write)` at info (JSON lines, scrubbed, handed
// to a counting sink), for a query URL of printable ASCII — the line a taken query writes. The
// characters written are printed too: two builds compared write the same text (but the pid's
// digits, one more or fewer in every line of a run). Median of --rounds rounds of --n lines each,
// after a warm-up of 50,000.
//
//   node bench/access-line-micro.ts [--n=300000] [--rounds=3] [--root=DIR]
// --root: the worktree whose src/ is measured (default: this one), for an A/B under one script.
import './lib/help.ts' // --help: the comment above, then exit
import { resolve } from 'node:path'
import { arg } from './lib/stats.ts'

const n = arg('n', 300_000)
const rounds = arg('rounds', 3)
const root = resolve(
  process.argv.find((a) => a.startsWith('--root='))?.slice(7) ?? new URL('..', import.meta.url).pathname,
)
const { createLogger } = await import(`${root}/src/runtime/logger.ts`)
const { accessLogger } = await import(`${root}/src/serving/request-log.ts`)
let chars = 0
const logger = createLogger('serve', (line: string) => (chars += line.length), { level: 'info' })
const line = accessLogger(logger.pino)
const urls = Array.from({ length: 1000 }, (_, i) => `/views/pageviews_by_url/%2Fp%2F${i}`)
const run = (count: number) => {
  for (let i = 0; i < count; i++) line(`req-${i.toString(36)}`, 'GET', urls[i % 1000], 200, (i % 50) / 7)
}
run(50_000)
const us: number[] = []
for (let r = 0; r < rounds; r++) {
  chars = 0
  const start = process.hrtime.bigint()
  run(n)
  us.push(Number(process.hrtime.bigint() - start) / n / 1000)
}
us.sort((a, b) => a - b)
console.log(
  `${root}: ${us[us.length >> 1]!.toFixed(3)} µs a line (median of ${rounds}), ${chars} characters a round`,
)
