// What the segment scrub's first pass (master-dataset/segment-scrub.ts) costs the main thread:
// a master dataset of `--mb` MiB of sealed NDJSON segments (one 8 MiB segment written, then
// copied under the next ranges; the scrub hashes the NDJSON against its sidecar only), hashed by
// a fresh SegmentScrub while the main event loop's delay (monitorEventLoopDelay, 1 ms resolution)
// and utilization are measured. The data lives under /tmp and is deleted at the end.
//
//   node bench/segment-scrub.ts --mb 1024 [--src /work/wt/other/src]
//
// --checks N (session 19) measures the later checks instead, as `strata start` runs them: one
// first check while the process is small, then the process grown to --rss-mb MiB of touched
// memory (a serving process after a while), then N checks each with one newly sealed segment.
// Per check: the main loop's delay max (what a query waiting then waits) and the time check()
// holds the thread before its first await.
//
// --src picks the tree whose SegmentScrub is measured (an A/B against another worktree).
import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '1024' },
    src: { type: 'string' },
    checks: { type: 'string' },
    'rss-mb': { type: 'string', default: '1536' },
  },
})
const src = resolve(values.src ?? new URL('../src', import.meta.url).pathname)
const { SegmentScrub } = (await import(
  join(src, 'master-dataset/index.ts')
)) as typeof import('../src/master-dataset/index.ts')

const SEGMENT_MB = 8
const segments = Math.max(1, Math.round(Number(values.mb) / SEGMENT_MB))
const root = await mkdtemp(join(tmpdir(), 'strata-scrub-bench-'))
try {
  const dir = join(root, 'p0000')
  await mkdir(dir)
  const line = (i: number) =>
    `{"offset":${i},"timestamp":1764000000000,"key":"u${i % 1000}","event":{"type":"pageview","path":"/p/${i % 97}","user":"u${i % 1000}"}}\n`
  const parts: string[] = []
  let bytes = 0
  let records = 0
  while (bytes < SEGMENT_MB << 20) {
    const l = line(records++)
    parts.push(l)
    bytes += l.length
  }
  const data = Buffer.from(parts.join(''))
  const name = (i: number) =>
    `${String(i * records).padStart(20, '0')}-${String((i + 1) * records).padStart(20, '0')}.ndjson`
  await writeFile(join(dir, name(0)), data)
  const sum = createHash('sha256').update(data).digest('hex')
  for (let i = 0; i < segments; i++) {
    if (i > 0) await copyFile(join(dir, name(0)), join(dir, name(i)))
    await writeFile(join(dir, `${name(i)}.sha256`), `${sum}  ${name(i)}\n`)
  }
  await writeFile(join(root, 'embedded-log.json'), '{}')
  if (values.checks !== undefined) {
    await laterChecks(root, dir, name, sum, segments, Number(values.checks), Number(values['rss-mb']))
    await rm(root, { recursive: true, force: true })
    process.exit(0)
  }

  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const elu = performance.eventLoopUtilization()
  const started = performance.now()
  const scrub = new SegmentScrub(root)
  let damaged = 0
  await scrub.check(() => damaged++)
  const wallMs = performance.now() - started
  const used = performance.eventLoopUtilization(elu)
  delay.disable()
  console.log(
    JSON.stringify({
      src,
      mb: segments * SEGMENT_MB,
      segments,
      damaged,
      wallMs: Math.round(wallMs),
      mainThreadBusyMs: Math.round(used.active),
      eluPct: Math.round(used.utilization * 1000) / 10,
      loopDelayP99Ms: Math.round(delay.percentile(99) / 1e4) / 100,
      loopDelayMaxMs: Math.round(delay.max / 1e4) / 100,
    }),
  )
} finally {
  await rm(root, { recursive: true, force: true })
}

async function laterChecks(
  root: string,
  dir: string,
  name: (i: number) => string,
  sum: string,
  first: number,
  checks: number,
  rssMb: number,
): Promise<void> {
  const scrub = new SegmentScrub(root)
  await scrub.check() // at the role's start: the process small
  // Touched, so its pages are mapped (a fork copies their page tables); 64 MiB buffers.
  const ballast: Buffer[] = []
  for (let mb = 0; mb < rssMb; mb += 64) ballast.push(Buffer.alloc(64 << 20, 1))
  const rssMiB = Math.round(process.memoryUsage.rss() / 2 ** 20)
  const delayMax: number[] = []
  const syncMs: number[] = []
  for (let c = 0; c < checks; c++) {
    const i = first + c // a newly sealed segment
    await copyFile(join(dir, name(0)), join(dir, name(i)))
    await writeFile(join(dir, `${name(i)}.sha256`), `${sum}  ${name(i)}\n`)
    await new Promise((r) => setTimeout(r, 50))
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    await new Promise((r) => setTimeout(r, 20))
    const t0 = performance.now()
    const checking = scrub.check()
    syncMs.push(performance.now() - t0)
    await checking
    await new Promise((r) => setTimeout(r, 20))
    delay.disable()
    delayMax.push(delay.max / 1e6)
  }
  await scrub.stop()
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const r = (x: number) => Math.round(x * 100) / 100
  console.log(
    JSON.stringify({
      src,
      rssMiB,
      checks,
      checked: scrub.progress,
      delayMaxMs: { median: r(median(delayMax)), max: r(Math.max(...delayMax)) },
      checkSyncMs: { median: r(median(syncMs)), max: r(Math.max(...syncMs)) },
      ballast: ballast.length,
    }),
  )
}
