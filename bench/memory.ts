// Memory: the speed layer holding K distinct keys of pageviews_by_url (every event a url of its
// own): resident memory (RSS) and V8 heap of the process before and after catching up, per
// key, and the LMDB store's size on disk. The states live in LMDB (memory-mapped, so its touched
// pages count in RSS); the worker's own heap holds only the window not yet committed.
//
// Budget: 200 B of RSS per key (10 M keys in 2 GB on this 24 GiB machine): a key here is a url
// of ~10 bytes, a 1 h window and an 8-byte count, so ~40 B of payload; the rest is the B-tree
// and the delta tables in flight.
//
// Several sizes in one invocation (`--keys=1000000,10000000`) measure each in a fresh child
// process, one after the other (so one size's heap and LMDB buffers do not count in the next), and
// add a row for process CPU per event at the largest size ÷ the smallest (issue 15 item 3: 10 M
// keys within 1.3× of 1 M). The RSS budget is judged at the largest size.
//
// `--rounds=R` (several sizes) measures every size R times, the sizes alternated and their order
// reversed every other round (small, large; large, small; …), each round's ratio taken between two
// children that ran next to each other: the verdict is the median of the rounds' ratios, the RSS
// budget is judged on the worst round. One run of each size moved the ratio 1.23–1.56× between
// runs of one build (BENCHMARKS.md, Memory, session 18). Each size's topic is preloaded once, by
// this process, and read by every round's child with a group of its own.
//
//   npm run bench:memory -- [--keys=2000000 | --keys=1000000,10000000] [--rounds=R] [--pass-deltas=N]
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'lmdb'
import { compileViews } from '../src/core/config.ts'
import { loadConfig } from '../src/core/config-loader.ts'
import { createAdmin } from '../src/log/kafka/index.ts'
import { createSpeedWorker } from '../src/speed/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { brokers, preloadTopic, sleep, writeViewConfig } from './lib/kafka-bench.ts'
import { type BenchResult, list, type ResultRow } from './lib/result.ts'
import { arg, median, table } from './lib/stats.ts'

if (process.argv.includes('--help')) {
  console.log(
    'npm run bench:memory -- [--keys=N[,N…]] [--rounds=R] [--pass-deltas=N]\n' +
      '  --keys         distinct keys (one event each); several sizes run one after the other, each in a\n' +
      '                 fresh process, and the result adds CPU per event at the largest ÷ the smallest\n' +
      '                 (default 2000000)\n' +
      '  --rounds       with several sizes: measure each R times, alternated; the ratio is the median\n' +
      "                 of the rounds' (default 1)\n" +
      "  --pass-deltas  deltas per compactor pass (default: the store's)",
  )
  process.exit(0)
}
const sizes = list('keys', [2_000_000])
if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n <= 0))
  throw new Error(`--keys takes whole numbers > 0, not ${process.argv.find((a) => a.startsWith('--keys='))}`)
if (sizes.length > 1) {
  await runSizes(sizes)
  process.exit(0)
}
const keys = sizes[0]!
/** Deltas per compactor pass (the store's default when not given). */
const passDeltas = arg('pass-deltas', 0) || undefined
const partitions = 6
const BUDGET = 200
const MB = 1024 * 1024

/** Resident anonymous (heap, malloc) and file-backed (LMDB's map) memory, from /proc/self/status. */
function rssParts(): { anon: number; file: number } {
  const status = readFileSync('/proc/self/status', 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') }
}

/**
 * CPU (µs, user + system) of each live thread of this process by its name (/proc/self/task/N/stat:
 * the main thread and fold threads are `node`… by default, V8's GC helpers `V8Worker`, lmdb-js's
 * writer thread a `libuv-worker`), and of the process: what exited threads spent is the process's
 * less the live threads' sum.
 */
function threadCpu(): Map<string, number> {
  const tick = 1e6 / 100 // USER_HZ
  const byName = new Map<string, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    const close = stat.lastIndexOf(')')
    const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ')
    const cpu = (Number(fields[11]) + Number(fields[12])) * tick
    byName.set(name, (byName.get(name) ?? 0) + cpu)
  }
  return byName
}

/** Per thread name, µs per event between two threadCpu() snapshots (and the exited threads' rest). */
function threadSplit(
  from: Map<string, number>,
  to: Map<string, number>,
  processMicros: number,
  events: number,
): string {
  const parts: string[] = []
  let live = 0
  for (const [name, cpu] of [...to].sort((a, b) => b[1] - a[1])) {
    const d = cpu - (from.get(name) ?? 0)
    live += d
    if (d > 0) parts.push(`${name} ${(d / events).toFixed(2)}`)
  }
  parts.push(`exited/other ${((processMicros - live) / events).toFixed(2)}`)
  return parts.join(', ')
}

/** Bytes this process wrote (pwrite's `wchar`) and caused to be written to storage (`write_bytes`): /proc/self/io. */
function ioBytes(): { wchar: number; disk: number } {
  const io = readFileSync('/proc/self/io', 'utf8')
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(io)?.[1] ?? 0)
  return { wchar: field('wchar'), disk: field('write_bytes') }
}

/** The largest resident mappings (a diagnosis aid: MEMORY_SMAPS=1). */
function topMappings(): void {
  const maps: Array<{ name: string; rss: number }> = []
  let current: { name: string; rss: number } | undefined
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head) {
      current = { name: head[1] || '[anon]', rss: 0 }
      maps.push(current)
    } else if (current && line.startsWith('Rss:')) current.rss = Number(line.split(/\s+/)[1]) * 1024
  }
  const byName = new Map<string, number>()
  for (const m of maps) byName.set(m.name, (byName.get(m.name) ?? 0) + m.rss)
  for (const [name, rss] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8))
    console.error(`  ${(rss / MB).toFixed(0)} MB ${name}`)
}

/**
 * Where the store's bytes are (after the measurement): LMDB's page counts (mdb_stat), and the
 * rows' key and value bytes per kind (the key's first element: 'rt' state rows, 're' the epoch
 * index, 'rl' the speed log…).
 */
async function describeStore(path: string): Promise<void> {
  const db = open<Buffer, Buffer>({ path, readOnly: true, keyEncoding: 'binary', encoding: 'binary' })
  try {
    const stats = db.getStats() as Record<string, number> & { free: Record<string, number> }
    const pages = stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages
    const kinds = new Map<string, { rows: number; keyBytes: number; valueBytes: number }>()
    for (const { key, value } of db.getRange({})) {
      const end = key.indexOf(0)
      const kind = key.subarray(0, end < 0 ? key.length : end).toString('latin1')
      const k = kinds.get(kind) ?? { rows: 0, keyBytes: 0, valueBytes: 0 }
      k.rows++
      k.keyBytes += key.length
      k.valueBytes += value.length
      kinds.set(kind, k)
    }
    let payload = 0
    for (const k of kinds.values()) payload += k.keyBytes + k.valueBytes + 8 * k.rows
    console.error(
      `LMDB: depth ${stats.treeDepth}, ${stats.entryCount} rows, pages: ${stats.treeBranchPageCount} branch + ${stats.treeLeafPageCount} leaf + ${stats.overflowPages} overflow = ${((pages * stats.pageSize) / MB).toFixed(0)} MB in use (rows + node headers ${((payload / (pages * stats.pageSize)) * 100).toFixed(0)} % of it); last page ${stats.lastPageNumber} (${(((stats.lastPageNumber + 1) * stats.pageSize) / MB).toFixed(0)} MB of file), free list ${stats.free.entryCount} rows`,
    )
    for (const [kind, k] of kinds)
      console.error(
        `  ${kind}: ${k.rows} rows, key ${(k.keyBytes / k.rows).toFixed(1)} B, value ${(k.valueBytes / k.rows).toFixed(1)} B on average`,
      )
  } finally {
    await db.close()
  }
}

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-memory-'))
/** A topic preloaded by the parent (`--topic=NAME --end=o,o,…`): read, not deleted, here. */
const given = process.argv.find((a) => a.startsWith('--topic='))?.slice('--topic='.length)
if (given === undefined) console.error(`preloading ${keys} events, one url each…`)
const { topic, end } =
  given === undefined
    ? await preloadTopic(admin, keys, partitions, keys)
    : { topic: given, end: list('end', []) }
try {
  const config = await loadConfig(await writeViewConfig(dir, topic, partitions))
  const store = await openLmdbStore(join(dir, 'store'), { compactor: { passDeltas } })
  globalThis.gc?.()
  await sleep(500)
  const before = process.memoryUsage()
  const beforeStatus = rssParts()
  const worker = createSpeedWorker({ store, config, brokers, groupId: `bench-${randomUUID()}` })
  const started = performance.now()
  const cpu0 = process.cpuUsage()
  const threads0 = threadCpu()
  const io0 = ioBytes()
  await worker.start()
  // Peaks of each part of process memory while folding (where the RSS goes, issue 6 item 5).
  const peaks = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }
  let peak = 0
  // 15 min, or 200 µs per key for the 10 M-key run on a loaded machine; a run that does not catch
  // up by then fails rather than report a partial figure.
  const deadline = Date.now() + Math.max(900_000, keys / 5)
  let caughtUp = false
  while (Date.now() < deadline) {
    const m = process.memoryUsage()
    for (const k of Object.keys(peaks) as Array<keyof typeof peaks>) peaks[k] = Math.max(peaks[k], m[k])
    peak = peaks.rss
    const stats = worker.stats().partitions
    if (stats.length === partitions && stats.every((p) => p.consumed >= end[p.partition]!)) {
      caughtUp = true
      break
    }
    await sleep(50)
  }
  if (!caughtUp) throw new Error(`the speed worker did not catch up with ${keys} keys before the deadline`)
  const caughtUpStatus = rssParts()
  const caughtUpCpu = process.cpuUsage(cpu0)
  const threadsCaughtUp = threadCpu()
  const ioCaughtUp = ioBytes()
  const seconds = (performance.now() - started) / 1000
  // The LMDB store folds its speed log into state rows in the time it has to spare
  // (src/store/lmdb-compactor.ts): what is left once caught up is folded here, inside the figures.
  const views = compileViews(config)
  const foldStarted = performance.now()
  const foldedAfter = await store.compactSpeed((view, a, b) => {
    const { monoid } = views.find((v) => v.name === view)!
    return monoid.encode(monoid.combine(monoid.decode(a as never), monoid.decode(b as never)))
  })
  const foldSeconds = (performance.now() - foldStarted) / 1000
  const cpu = process.cpuUsage(cpu0)
  const threadsFolded = threadCpu()
  const ioFolded = ioBytes()
  const cpuPerEvent = (cpu.user + cpu.system) / keys
  // Where the CPU went: the catch-up (the compactor runs in it past its threshold) and the fold
  // after, each split into user and system time (LMDB's page writes are system time).
  const perEvent = (micros: number) => (micros / keys).toFixed(2)
  console.error(
    `CPU per event (${foldedAfter} log rows folded after catching up): caught up ${perEvent(caughtUpCpu.user + caughtUpCpu.system)} µs (user ${perEvent(caughtUpCpu.user)}, system ${perEvent(caughtUpCpu.system)}), fold after ${perEvent(cpu.user + cpu.system - caughtUpCpu.user - caughtUpCpu.system)} µs (user ${perEvent(cpu.user - caughtUpCpu.user)}, system ${perEvent(cpu.system - caughtUpCpu.system)})`,
  )
  console.error(
    `CPU per event by thread (µs; ticks of 10 ms): caught up: ${threadSplit(threads0, threadsCaughtUp, caughtUpCpu.user + caughtUpCpu.system, keys)}; fold after: ${threadSplit(threadsCaughtUp, threadsFolded, cpu.user + cpu.system - caughtUpCpu.user - caughtUpCpu.system, keys)}`,
  )
  const written = (a: { wchar: number; disk: number }, b: { wchar: number; disk: number }) =>
    `${((b.wchar - a.wchar) / keys).toFixed(0)} B written (${((b.disk - a.disk) / keys).toFixed(0)} B to storage)`
  console.error(
    `bytes per event: caught up ${written(io0, ioCaughtUp)}; fold after ${written(ioCaughtUp, ioFolded)}`,
  )
  globalThis.gc?.()
  await sleep(500)
  const after = process.memoryUsage()
  const afterStatus = rssParts()
  if (process.env.MEMORY_SMAPS) topMappings()
  let storeBytes = 0
  for (const name of await readdir(join(dir, 'store')))
    storeBytes += (await stat(join(dir, 'store', name))).size
  await worker.close()
  await store.close()
  const perKey = (after.rss - before.rss) / keys
  // Anonymous (heap, malloc) against file-backed (LMDB's memory map) resident pages, at each step.
  const closedStatus = rssParts()
  for (const [step, parts] of [
    ['before', beforeStatus],
    ['caught up', caughtUpStatus],
    ['log folded', afterStatus],
    ['store closed', closedStatus],
  ] as const) {
    console.error(
      `${step}: RssAnon ${(parts.anon / MB).toFixed(0)} MB, RssFile ${(parts.file / MB).toFixed(0)} MB`,
    )
  }
  console.error(
    `growth per key: anon ${((afterStatus.anon - beforeStatus.anon) / keys).toFixed(0)} B, file ${((afterStatus.file - beforeStatus.file) / keys).toFixed(0)} B`,
  )
  await describeStore(join(dir, 'store'))
  console.log(
    `\n${keys} distinct keys caught up in ${seconds.toFixed(1)} s, log folded ${foldSeconds.toFixed(1)} s after; process CPU ${cpuPerEvent.toFixed(2)} µs/event (fold included); budget ${BUDGET} B/key of RSS\n`,
  )
  console.log(
    table(
      ['measure', 'before', 'after', 'per key'],
      [
        [
          'RSS',
          `${(before.rss / MB).toFixed(0)} MB`,
          `${(after.rss / MB).toFixed(0)} MB (peak ${(peak / MB).toFixed(0)} MB)`,
          `${perKey.toFixed(0)} B`,
        ],
        [
          'V8 heap used',
          `${(before.heapUsed / MB).toFixed(0)} MB`,
          `${(after.heapUsed / MB).toFixed(0)} MB (peak ${(peaks.heapUsed / MB).toFixed(0)} MB)`,
          `${((after.heapUsed - before.heapUsed) / keys).toFixed(0)} B`,
        ],
        [
          'external (Buffers, native)',
          `${(before.external / MB).toFixed(0)} MB`,
          `${(after.external / MB).toFixed(0)} MB (peak ${(peaks.external / MB).toFixed(0)} MB)`,
          `${((after.external - before.external) / keys).toFixed(0)} B`,
        ],
        [
          'V8 heap total (peak)',
          `${(before.heapTotal / MB).toFixed(0)} MB`,
          `${(after.heapTotal / MB).toFixed(0)} MB (peak ${(peaks.heapTotal / MB).toFixed(0)} MB)`,
          '',
        ],
        [
          'LMDB store on disk',
          '',
          `${(storeBytes / MB).toFixed(0)} MB`,
          `${(storeBytes / keys).toFixed(0)} B`,
        ],
      ],
    ),
  )
  const result = {
    part: 'memory',
    params: {
      keys,
      partitions,
      budgetBytesPerKey: BUDGET,
      seconds: Math.round(seconds),
      foldSeconds: Math.round(foldSeconds),
      cpuMicrosPerEvent: Number(cpuPerEvent.toFixed(2)),
    },
    rows: [
      {
        measure: `speed layer RSS growth per key, ${keys.toLocaleString('en')} distinct keys`,
        strata: `${perKey.toFixed(0)} B/key`,
        value: Math.round(perKey),
        peer: 'budget',
        peerFigure: `${BUDGET} B/key`,
        peerValue: BUDGET,
        ratio: `${(perKey / BUDGET).toFixed(2)}×`,
        target: `≤ ${BUDGET} B/key`,
        met: perKey <= BUDGET,
        note: `RSS ${(before.rss / MB).toFixed(0)} → ${(after.rss / MB).toFixed(0)} MB (peak ${(peak / MB).toFixed(0)}), heap ${(after.heapUsed / MB).toFixed(0)} MB, store ${(storeBytes / MB).toFixed(0)} MB on disk`,
      },
    ],
  }
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`)
} finally {
  if (given === undefined) await admin.deleteTopic(topic)
  await admin.close()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)

/** The BENCH_RESULT of `bench/memory.ts --keys=N` run as a child process. */
function measureInChild(keys: number, topic?: { topic: string; end: number[] }): Promise<BenchResult> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--keys=') && !a.startsWith('--rounds='))
  if (topic !== undefined) args.push(`--topic=${topic.topic}`, `--end=${topic.end.join(',')}`)
  const child = spawn(
    process.execPath,
    [...process.execArgv, import.meta.filename, `--keys=${keys}`, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  // Its tables go to our stdout (bench/all.ts keeps them in the details), its result line does not.
  let out = ''
  let echoed = 0
  child.stdout.on('data', (d: Buffer) => {
    out += d
    const end = out.lastIndexOf('\n') + 1
    for (const line of out.slice(echoed, end).split('\n').slice(0, -1))
      if (!line.startsWith('BENCH_RESULT ')) process.stdout.write(`${line}\n`)
    echoed = end
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const line = out.split('\n').findLast((l) => l.startsWith('BENCH_RESULT '))
      if (code !== 0 || line === undefined)
        reject(new Error(`the ${keys}-key run failed (exit ${code}${line ? '' : ', no BENCH_RESULT'})`))
      else resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as BenchResult)
    })
  })
}

/**
 * Each size in turn, in a child process, `rounds` times (the order reversed every other round);
 * then the rows and the CPU ratio largest ÷ smallest: the median of the rounds' ratios.
 */
async function runSizes(sizes: number[]): Promise<void> {
  const rounds = arg('rounds', 1)
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds takes a whole number > 0, not ${rounds}`)
  const topics = new Map<number, { topic: string; end: number[] }>()
  const admin = rounds > 1 ? createAdmin({ brokers }) : undefined
  const runs: Array<{ round: number; keys: number; result: BenchResult; cpu: number }> = []
  try {
    if (admin !== undefined) {
      for (const n of sizes) {
        console.error(`preloading ${n} events, one url each (read by every round)…`)
        const { topic, end } = await preloadTopic(admin, n, 6, n)
        topics.set(n, { topic, end })
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const n of round % 2 === 1 ? sizes : [...sizes].reverse()) {
        console.error(
          `\n=== ${n.toLocaleString('en')} distinct keys${rounds > 1 ? `, round ${round} of ${rounds}` : ''}`,
        )
        const result = await measureInChild(n, topics.get(n))
        runs.push({ round, keys: n, result, cpu: Number(result.params?.['cpuMicrosPerEvent']) })
      }
    }
  } finally {
    if (admin !== undefined) {
      for (const { topic } of topics.values()) await admin.deleteTopic(topic)
      await admin.close()
    }
  }
  const smallKeys = Math.min(...sizes)
  const largeKeys = Math.max(...sizes)
  const cpuOf = (round: number, n: number) => runs.find((r) => r.round === round && r.keys === n)!.cpu
  const ratios: number[] = []
  for (let round = 1; round <= rounds; round++) ratios.push(cpuOf(round, largeKeys) / cpuOf(round, smallKeys))
  const ratio = median(ratios)
  const small = median(runs.filter((r) => r.keys === smallKeys).map((r) => r.cpu))
  const large = median(runs.filter((r) => r.keys === largeKeys).map((r) => r.cpu))
  const TARGET = 1.3
  const rows: ResultRow[] = []
  for (const n of sizes) {
    // The worst round's RSS per key (never the kindest), the size's rows as that round gave them.
    const worst = runs
      .filter((r) => r.keys === n)
      .reduce((a, b) => (Number(b.result.rows[0]?.value) > Number(a.result.rows[0]?.value) ? b : a))
    for (const row of worst.result.rows) {
      const note = rounds > 1 ? `${row.note ?? ''} (the worst of ${rounds} rounds)`.trim() : row.note
      // The budget is stated at the largest size (issue 15: 10 M keys); smaller sizes are context.
      if (n === largeKeys) rows.push({ ...row, note })
      else {
        const { target: _t, met: _m, ...rest } = row
        rows.push({ ...rest, note: `${note ?? ''} (budget judged at the largest size)`.trim() })
      }
    }
  }
  const fmt = (n: number) => n.toLocaleString('en')
  const ratioText = (r: number) => `${r.toFixed(Math.abs(r - TARGET) < 0.005 ? 3 : 2)}×`
  const byRound =
    rounds > 1 ? `; rounds (median of the ratios): ${ratios.map((r) => r.toFixed(3)).join(', ')}` : ''
  rows.push({
    measure: `process CPU per event, ${fmt(largeKeys)} ÷ ${fmt(smallKeys)} distinct keys (fold included)`,
    strata: `${large.toFixed(2)} µs`,
    value: large,
    peer: `${fmt(smallKeys)} keys, same run`,
    peerFigure: `${small.toFixed(2)} µs`,
    peerValue: small,
    // Three decimals when two would round onto the target (1.303 is not ≤ 1.3, though "1.30×").
    ratio: ratioText(ratio),
    target: `≤ ${TARGET}×`,
    met: ratio <= TARGET,
    note:
      runs
        .map(
          (r) =>
            `${rounds > 1 ? `r${r.round} ` : ''}${fmt(r.keys)}: ${r.cpu.toFixed(2)} µs, caught up ${r.result.params?.['seconds']} s + fold ${r.result.params?.['foldSeconds']} s`,
        )
        .join('; ') + byRound,
  })
  console.log(
    `\n${table(
      ['round', 'keys', 'process CPU per event', 'RSS growth per key', 'caught up + fold'],
      runs.map((r) => [
        String(r.round),
        fmt(r.keys),
        `${r.cpu.toFixed(2)} µs`,
        r.result.rows[0]?.strata ?? '',
        `${r.result.params?.['seconds']} + ${r.result.params?.['foldSeconds']} s`,
      ]),
    )}\n`,
  )
  console.log(
    `CPU per event, ${fmt(largeKeys)} ÷ ${fmt(smallKeys)} keys: ${ratio.toFixed(3)}×${rounds > 1 ? ` (median of ${rounds} rounds: ${ratios.map((r) => r.toFixed(3)).join(', ')})` : ''} (target ≤ ${TARGET}×: ${ratio <= TARGET ? 'met' : 'missed'})\n`,
  )
  const result: BenchResult = {
    part: 'memory',
    params: {
      keys: sizes,
      rounds,
      cpuRatio: Number(ratio.toFixed(3)),
      cpuRatios: ratios.map((r) => Number(r.toFixed(3))),
      runs: runs.map((r) => ({ round: r.round, ...r.result.params })),
    },
    rows,
  }
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`)
}
