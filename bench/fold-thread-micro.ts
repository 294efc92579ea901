// A fold thread's work alone (no Kafka, no threads, no store): 500,000 of the catch-up benchmark's
// records (bench/lib/kafka-bench.ts eventAt, pageviews_by_url) read with the projected check and
// folded into PendingWindows of 20,000 records, in batches of 2,000 as a fold request brings them
// (PendingWindow.foldRecords; a checkout without it gets the per-record loop its fold thread ran),
// each window's deltas packed as for a commit (fold-thread-main.ts packDeltas): the process CPU
// per record. Give several checkouts to compare
// them in one process, run alternately (12 rounds each, the first 2 dropped), e.g. main in a
// second worktree against this one: the catch-up's own CPU per event moves too much between runs
// on a shared machine to show a change of one thread by ~10 % (BENCHMARKS.md, speed-layer
// catch-up, session 12 and 13).
//
//   node bench/fold-thread-micro.ts [checkout …] [--mix=tail|order]   (default: this checkout)
//
// --mix: every other record of another shape, so that the projected check's shape path (the last
// accepted record's separators) misses record by record: `tail` adds a field no view reads at the
// end (a miss found only after every value is read, the worst case), `order` swaps the first two
// fields (a miss at the first name).
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventAt, writeViewConfig } from './lib/kafka-bench.ts'

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const mix = process.argv.find((a) => a.startsWith('--mix='))?.slice('--mix='.length)
if (mix !== undefined && mix !== 'tail' && mix !== 'order') throw new Error(`--mix=${mix}: tail or order`)
// Record i's text: the catch-up benchmark's, every other one reshaped by --mix.
const recordAt = (i: number): string => {
  const value = eventAt(i, N, base).value
  if (mix === undefined || i % 2 === 0) return value
  if (mix === 'tail') return `${value.slice(0, -1)},"ref":"/p/${i % 97}"}`
  const o = JSON.parse(value)
  return JSON.stringify({ url: o.url, type: o.type, user: o.user, ts: o.ts })
}
if (roots.length === 0) roots.push(join(import.meta.dirname, '..'))
const N = 500_000
const WINDOW = 20_000
const BATCH = 2_000
const offsets = Float64Array.from({ length: N }, (_, i) => i)
const ROUNDS = 12
const base = Date.now() - 86_400_000
// The records lie in one buffer with other bytes between them, as in a batch buffer.
const parts: Buffer[] = []
const starts = new Uint32Array(N)
const ends = new Uint32Array(N)
let at = 0
for (let i = 0; i < N; i++) {
  const b = Buffer.from(`${recordAt(i)}\u00ff\u00ff\u00ff\u00ff`, 'latin1')
  starts[i] = at
  ends[i] = at + b.length - 4
  at += b.length
  parts.push(b)
}
const values = Buffer.concat(parts)

interface Subject {
  root: string
  run(): number
}
const subjects: Subject[] = []
const dirs: string[] = []
for (const root of roots) {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fold-micro-'))
  dirs.push(dir)
  const configPath = await writeViewConfig(dir, 'fold-micro', 6, root)
  const { loadConfig } = await import(join(root, 'src/core/config-loader.ts'))
  const { compileViews } = await import(join(root, 'src/core/config.ts'))
  const { recordReaderFor } = await import(join(root, 'src/core/projected-check.ts'))
  const { PendingWindow } = await import(join(root, 'src/speed/pending-window.ts'))
  const { packDeltas } = await import(join(root, 'src/speed/fold-thread-main.ts'))
  const config = await loadConfig(configPath)
  const views = compileViews(config)
  const read = recordReaderFor(views, config.source.time)
  subjects.push({
    root,
    run() {
      // A checkout whose fold thread says where it folds (s14-hang: PendingWindow.where, written
      // per record and per view) pays for those writes here as in the thread.
      const where =
        'where' in new PendingWindow(views, read, 0, 0, 0)
          ? new Float64Array(new SharedArrayBuffer(32)) // fold-protocol.ts: partition, offset, view, steps
          : undefined
      const open = (from: number) => {
        const w = new PendingWindow(views, read, from, from, 0)
        if (where) w.where = where
        return w
      }
      let window = open(0)
      let sink = 0
      for (let b = 0; b < N; b += BATCH) {
        if (typeof window.foldRecords === 'function') {
          const records = {
            offsets: offsets.subarray(b, b + BATCH),
            starts: starts.subarray(b, b + BATCH),
            ends: ends.subarray(b, b + BATCH),
            values,
          }
          sink += window.foldRecords(records, [], [])
        } else {
          for (let i = b; i < b + BATCH; i++) {
            const event = read(values, starts[i]!, ends[i]!)
            if (typeof event === 'string') window.advance(i + 1)
            else window.fold(i, event, values, starts[i]!, ends[i]!)
          }
        }
        if ((b + BATCH) % WINDOW === 0) {
          sink += packDeltas(window).keyText.length
          window = open(b + BATCH)
        }
      }
      return sink
    },
  })
}
const perRecord = new Map<string, number[]>()
for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 === 0 ? subjects : [...subjects].reverse()) {
    const cpu0 = process.cpuUsage()
    s.run()
    const { user, system } = process.cpuUsage(cpu0)
    if (r >= 2) perRecord.set(s.root, [...(perRecord.get(s.root) ?? []), (user + system) / N])
  }
}
for (const [root, xs] of perRecord) {
  xs.sort((a, b) => a - b)
  console.log(
    `${root}: CPU per record min ${xs[0]!.toFixed(3)} µs, median ${xs[Math.floor(xs.length / 2)]!.toFixed(3)} µs`,
  )
}
for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
