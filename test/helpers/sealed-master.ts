// A data folder whose master dataset holds 60 page views in 2 partitions, every segment sealed
// (the embedded log's layout, as strata start leaves it), and a config for it: what the tests of
// a one-off batch run over sealed segments (recompute(), strata batch) start from.
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { configSource, pageView } from '../speed/helpers.ts'

export async function sealedMaster(dir: string) {
  const config = join(dir, 'strata.config.ts')
  await writeFile(config, configSource('events', 2))
  const data = join(dir, 'data')
  const master = join(data, 'master', 'events')
  await mkdir(master, { recursive: true })
  const log = await EmbeddedLog.open({ dir: master, partitions: 2 })
  await log.append(
    Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 3}`, value: JSON.stringify(pageView(i)) })),
  )
  await log.seal()
  await log.close()
  // The sealed segments of every partition, relative to `master` (the keys decide which
  // partitions have any).
  const sealed = (await readdir(master, { recursive: true })).filter((f) => f.endsWith('.ndjson')).sort()
  return { config, data, master, sealed }
}
