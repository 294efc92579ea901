// CPU profile of the speed layer catching up (issue 6 item 7): the topic is preloaded first,
// then the profiler (node:inspector) runs only while one speed worker folds it from a fresh LMDB
// store, so the preload's producer is not in the profile. Writes the .cpuprofile and folded
// stacks, and prints the top functions by self time (bench/lib/cpu-profile.ts).
//
//   node bench/speed-profile.ts [--events=1000000] [--partitions=6] [--keys=user|url] [--out=bench/profiles/speed-catchup]
import './lib/help.ts' // --help: the comment above, then exit
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/core/config-loader.ts'
import { createAdmin } from '../src/log/kafka/index.ts'
import { createSpeedWorker } from '../src/speed/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { type CpuProfile, foldedStacks, selfTable } from './lib/cpu-profile.ts'
import { brokers, preloadTopic, sleep, writeViewConfig } from './lib/kafka-bench.ts'
import { arg } from './lib/stats.ts'

const events = arg('events', 1_000_000)
const partitions = arg('partitions', 6)
const out = process.argv.find((a) => a.startsWith('--out='))?.slice(6) ?? 'bench/profiles/speed-catchup'
// --policy='{"commitEveryRecords":100000}': the folder policy to profile (defaults otherwise).
const policy = JSON.parse(process.argv.find((a) => a.startsWith('--policy='))?.slice(9) ?? '{}')
// --fold-threads=N: parse, check and fold in N fold threads (src/speed/fold-threads.ts).
const foldThreads = arg('fold-threads', 0)
// --keys=url: the topic keyed by url (as bench/speed-catchup.ts --keys=url); by user otherwise.
const keyBy = process.argv.includes('--keys=url') ? 'url' : 'user'
// --compactor='{"checkMs":1000}': the LMDB store's compactor options (src/store/lmdb-compactor.ts).
const compactor = JSON.parse(process.argv.find((a) => a.startsWith('--compactor='))?.slice(12) ?? '{}')

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-speed-profile-'))
console.error(`preloading ${events} events into ${partitions} partitions…`)
const { topic, end } = await preloadTopic(admin, events, partitions, 10_000, keyBy)
try {
  const configPath = await writeViewConfig(dir, topic, partitions)
  const config = await loadConfig(configPath)
  const store = await openLmdbStore(join(dir, 'store'), { compactor })
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  const started = performance.now()
  const cpu0 = process.cpuUsage()
  const worker = createSpeedWorker({
    store,
    config,
    configPath,
    foldThreads,
    brokers,
    policy,
    groupId: `bench-${randomUUID()}`,
  })
  await worker.start()
  while (true) {
    const stats = worker.stats().partitions
    if (stats.length === partitions && stats.every((p) => p.consumed >= end[p.partition]!)) break
    await sleep(5)
  }
  const ms = performance.now() - started
  const cpu = process.cpuUsage(cpu0)
  const commits = worker.stats().partitions.reduce((s, p) => s + p.commits, 0)
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile }
  session.disconnect()
  await worker.close()
  await store.close()
  await writeFile(`${out}.cpuprofile`, JSON.stringify(profile))
  await writeFile(`${out}.folded`, foldedStacks(profile))
  const { rows, busyMs, idleMs } = selfTable(profile)
  console.log(
    `${events} events caught up in ${ms.toFixed(0)} ms (${((events / ms) * 1000).toFixed(0)}/s, group join included; ${commits} commits; process CPU user ${(cpu.user / 1000).toFixed(0)} ms + sys ${(cpu.system / 1000).toFixed(0)} ms); main thread busy ${busyMs.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms\n`,
  )
  console.log('| self ms | share of busy | function |\n| --- | --- | --- |')
  for (const r of rows.slice(0, 30))
    console.log(`| ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% | ${r.name} |`)
} finally {
  await admin.deleteTopic(topic)
  await admin.close()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
