// Where a warm batch fold's CPU per event goes, by subtraction (issue 15 item 5): bench/batch.ts's
// events and view (pageviews_by_url: filter type === 'page_view', key url, 1 h tumbling windows,
// count) in packed segments, 4 partitions, walked in this process in stages that each do one more
// thing than the one before, alternating stages round after round; CPU per event per stage, the
// median of --rounds after a first round dropped:
//
//   open      read and CRC-check the projected sections of every segment (no record visited)
//   next      + cursor.next() per record
//   event     + cursor.event() and its time read (the lazy object's getter)
//   filterkey + the filter's field and the key's field read, the filter's comparison
//   route     + the view's fold() into a table whose add does nothing (route: key, time, window)
//   byevents  foldPartitionTables walking every event (byColumns: false; main's fold before the
//             fold by columns, the NumericTable included)
//   fold      foldPartitionTables as a fold thread runs it: by columns for this view
//             (src/batch/column-fold.ts)
//   columns   the ceiling of a fold that reads columns whole (PackedCursor.columnOf): per segment,
//             the filter decided once per dictionary id, then one loop over the typed arrays (the
//             time column, the key's ids), a group's slot remembered per key id, a key's string
//             looked up in a Map once per (segment, window, key); checked equal to `fold`'s counts.
//             A measurement of what such a fold could cost, not Strata's fold: it handles only
//             one-layout segments of this shape and throws otherwise.
//
//   node bench/batch-decompose.ts [--events=3000000] [--rounds=6]
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { foldPartitionTables } from '../src/batch/partition-fold.ts'
import { count, tumbling, view } from '../src/config.ts'
import { compileView } from '../src/core/compiled-view.ts'
import type { FoldTable } from '../src/core/view-table.ts'
import { listSegments, PackedSegmentReader, SegmentStore } from '../src/master-dataset/index.ts'
import type { PackedCursor } from '../src/master-dataset/packed-cursor.ts'
import { writeBatchSegments } from './lib/batch-events.ts'
import { arg, median } from './lib/stats.ts'

const events = arg('events', 3_000_000)
const rounds = arg('rounds', 6)
const partitions = 4
const perSegment = 250_000
const HOUR = 3_600_000

/** The `columns` stage over one segment (see the top): its own function, so that V8 optimizes it whole. */
function foldColumns(
  cursor: PackedCursor,
  windows: Map<number, Map<string, number>>,
  held: number[],
  keysOf: string[],
  windowOf: number[],
): void {
  const types = cursor.columnOf('type', 's') as Uint32Array | undefined
  const urls = cursor.columnOf('url', 's') as Uint32Array | undefined
  const times = cursor.columnOf('ts', 'n') as Float64Array | undefined
  const typeTable = cursor.dictionary('type')
  const urlTable = cursor.dictionary('url')
  if (!types || !urls || !times || !typeTable || !urlTable) throw new Error('not a one-layout segment')
  const verdict = new Uint8Array(typeTable.size)
  for (let id = 0; id < typeTable.size; id++) verdict[id] = typeTable.get(id) === 'page_view' ? 1 : 0
  const slotOfId = new Int32Array(urlTable.size)
  let windowStart = Number.NaN
  let windowEnd = Number.NaN
  let slots = new Map<string, number>()
  for (let r = 0; r < cursor.records; r++) {
    if (verdict[types[r] as number] !== 1) continue
    const time = times[r] as number
    if (!(time >= windowStart && time < windowEnd)) {
      windowStart = time - (time % HOUR)
      windowEnd = windowStart + HOUR
      const known = windows.get(windowStart)
      slots = known ?? new Map<string, number>()
      if (known === undefined) windows.set(windowStart, slots)
      slotOfId.fill(0)
    }
    const id = urls[r] as number
    let slot = (slotOfId[id] as number) - 1
    if (slot < 0) {
      const key = urlTable.get(id)
      const known = slots.get(key)
      if (known === undefined) {
        slot = held.length
        held.push(0)
        keysOf.push(key)
        windowOf.push(windowStart)
        slots.set(key, slot)
      } else slot = known
      slotOfId[id] = slot + 1
    }
    held[slot] = (held[slot] as number) + 1
  }
}

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-batch-decompose-'))
try {
  const segments = await SegmentStore.open(dir)
  const perPartition = await writeBatchSegments(segments, events, { partitions, perSegment })
  const pageviews = compileView(
    view('pageviews_by_url')
      .filter((e: any) => e.type === 'page_view')
      .key((e: any) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
  )
  const views = [pageviews]
  const fields = pageviews.fields
  let sink = 0
  const nothing: FoldTable = {
    add(start: number) {
      sink += start
    },
  } as unknown as FoldTable

  let checking = false
  /** The `columns` stage's answer: count per `${window} ${key}`. */
  let columnCounts = new Map<string, number>()

  async function stage(name: string): Promise<void> {
    if (name === 'fold' || name === 'byevents') {
      for (let p = 0; p < partitions; p++)
        await foldPartitionTables({
          root: dir,
          partition: p,
          to: perPartition,
          views,
          byColumns: name === 'fold',
        })
      return
    }
    const counts = new Map<string, number>()
    for (let p = 0; p < partitions; p++) {
      const reader = new PackedSegmentReader(dir, p)
      // The columns stage: per window, key string → slot in `held`, and keys by slot.
      const windows = new Map<number, Map<string, number>>()
      const held: number[] = []
      const keysOf: string[] = []
      const windowOf: number[] = []
      try {
        for (const range of await listSegments(dir, p)) {
          const cursor = await reader.open(range, fields, true)
          if (name === 'open') continue
          let s = 0
          if (name === 'next') while (cursor.next()) s++
          else if (name === 'event') {
            while (cursor.next()) s += (cursor.event() as { ts: number }).ts
          } else if (name === 'filterkey') {
            while (cursor.next()) {
              const e = cursor.event() as { type: string; url: string; ts: number }
              if (e.type === 'page_view') s += e.url.length + e.ts
            }
          } else if (name === 'route') {
            cursor.useStringIds(['url'])
            while (cursor.next()) pageviews.fold(nothing, cursor.event() as never, cursor.stringId(0))
          } else if (name === 'columns') {
            foldColumns(cursor, windows, held, keysOf, windowOf)
          }
          sink += s
        }
      } finally {
        reader.release()
      }
      for (let slot = 0; slot < (checking ? held.length : 0); slot++) {
        const k = `${windowOf[slot]} ${keysOf[slot]}`
        counts.set(k, (counts.get(k) ?? 0) + (held[slot] as number))
      }
    }
    if (name === 'columns') columnCounts = counts
  }

  // The columns stage's answer against the fold's (whole partitions combined by sum).
  const check = new Map<string, number>()
  for (let p = 0; p < partitions; p++) {
    const { tables } = await foldPartitionTables({ root: dir, partition: p, to: perPartition, views })
    const table = tables[0] as {
      toViewTable(): { windowStarts(): number[]; groupsIn(s: number): Map<string, number> }
    }
    const t = table.toViewTable()
    for (const start of t.windowStarts())
      for (const [key, n] of t.groupsIn(start))
        check.set(`${start} ${key}`, (check.get(`${start} ${key}`) ?? 0) + n)
  }
  checking = true
  await stage('columns')
  checking = false
  if (check.size !== columnCounts.size || [...check].some(([k, n]) => columnCounts.get(k) !== n))
    throw new Error('the columns stage disagrees with the fold')

  const names = ['open', 'next', 'event', 'filterkey', 'route', 'byevents', 'fold', 'columns']
  const ns = new Map<string, number[]>(names.map((n) => [n, []]))
  for (let round = 0; round <= rounds; round++) {
    for (const name of names) {
      const c0 = process.cpuUsage()
      await stage(name)
      const c = process.cpuUsage(c0)
      if (round > 0) ns.get(name)?.push(((c.user + c.system) * 1000) / events)
    }
  }
  console.log(`${events} events, ${rounds} rounds (the first dropped), CPU ns per event\n`)
  console.log('| stage | median | rounds |\n| --- | --- | --- |')
  for (const name of names) {
    const all = ns.get(name) as number[]
    console.log(`| ${name} | ${median(all).toFixed(0)} | ${all.map((x) => x.toFixed(0)).join(', ')} |`)
  }
  if (sink === 0.5) console.log(sink)
} finally {
  await rm(dir, { recursive: true, force: true })
}
