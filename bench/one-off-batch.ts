// What the one-off run (`strata batch`, recompute()) costs end to end, for an A/B between trees:
// --make writes a master dataset of --events page views (2 partitions, sealed every 200,000)
// under --dir; without it, one recompute({ threads: 1, force: true }) from the tree --src names,
// its wall time printed. Session 17's review used it to measure the segment check recompute()
// waits for (BENCHMARKS.md, "the segment scrub's first pass, re-run by the reviewer").
//
//   node bench/one-off-batch.ts --src src --dir /tmp/ds --make [--events 1000000]
//   flock /work/wt/bench.lock node bench/one-off-batch.ts --src /work/wt/BASE/src --dir /tmp/ds
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    src: { type: 'string' },
    make: { type: 'boolean' },
    dir: { type: 'string' },
    events: { type: 'string', default: '1000000' },
  },
})
const src = resolve(values.src!)
const dir = values.dir!
const { configSource, pageView } = await import(join(src, '../test/speed/helpers.ts'))
if (values.make) {
  const { EmbeddedLog } = await import(join(src, 'log/embedded/index.ts'))
  await mkdir(join(dir, 'data', 'master', 'events'), { recursive: true })
  await writeFile(join(dir, 'strata.config.ts'), configSource('events', 2))
  const log = await EmbeddedLog.open({ dir: join(dir, 'data', 'master', 'events'), partitions: 2 })
  const n = Number(values.events)
  for (let b = 0; b < n; b += 20000) {
    await log.append(
      Array.from({ length: 20000 }, (_, i) => ({
        key: `k${(b + i) % 97}`,
        value: JSON.stringify(pageView(b + i)),
      })),
    )
    if (b % 200000 === 0) await log.seal()
  }
  await log.seal()
  await log.close()
  process.exit(0)
}
const { recompute } = await import(join(src, 'index.ts'))
const t0 = performance.now()
const r = await recompute({
  config: join(dir, 'strata.config.ts'),
  data: join(dir, 'data'),
  threads: 1,
  force: true,
})
console.log(
  JSON.stringify({
    src,
    wallMs: Math.round(performance.now() - t0),
    versions: r.versions.length,
    events: r.events,
    damaged: r.damagedSegments?.length,
  }),
)
