// What the segment scrub's first pass (master-dataset/segment-scrub.ts) costs the main thread:
// a master dataset of `--mb` MiB of sealed NDJSON segments (one 8 MiB segment written, then
// copied under the next ranges; the scrub hashes the NDJSON against its sidecar only), hashed by
// a fresh SegmentScrub while the main event loop's delay (monitorEventLoopDelay, 1 ms resolution)
// and utilization are measured. The data lives under /tmp and is deleted at the end.
//
//   node bench/segment-scrub.ts --mb 1024 [--src /work/wt/other/src]
//
// --src picks the tree whose SegmentScrub is measured (an A/B against another worktree).
import { createHash } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '1024' }, src: { type: 'string' } },
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
