// The one line each benchmark prints last on stdout for `npm run bench` (bench/all.ts) to collect:
//   BENCH_RESULT {"part":"query","rows":[{"measure":…,"strata":…,"peer":…,…}]}
// Figures are already formatted for the summary table; `value` and `peerValue` keep the numbers.

export interface ResultRow {
  /** What is measured, e.g. "query p99 at 2,000 req/s, `strata worker serve`". */
  measure: string
  /** Strata's figure, formatted ("0.41 ms", "66.6 k/s"). */
  strata: string
  value?: number
  /** The peer or limit it is compared with, and its figure. */
  peer?: string
  peerFigure?: string
  peerValue?: number
  /** Strata against the peer, formatted ("1.9×", "+12 ms"). */
  ratio?: string
  /** The target from docs/architecture.md (Targets) or the issue ("≤ 2×"); no target on growth rows. */
  target?: string
  met?: boolean
  /** Rounds' spread or anything else the reader needs. */
  note?: string
}

export interface BenchResult {
  part: string
  rows: ResultRow[]
  /** The sizes it ran with. */
  params?: Record<string, unknown>
}

export function printResult(result: BenchResult): void {
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`)
}

export function list(name: string, fallback: number[]): number[] {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit
    ? hit
        .slice(name.length + 3)
        .split(',')
        .map(Number)
    : fallback
}

export function words(name: string, fallback: string[]): string[] {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit ? hit.slice(name.length + 3).split(',') : fallback
}

export const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
