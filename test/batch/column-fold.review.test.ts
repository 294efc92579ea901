// Review of the fold by columns (src/batch/column-fold.ts): look-alike functions (built from source
// text, so that the text is exactly what the recogniser sees) must either be recognised with the
// same meaning or fold by events; offsets with gaps (PackedCursor.recordsBelow's search) and every
// horizon must cut where the walk by events cuts; a view that throws beside a recognised one keeps
// its errors. Each case is folded three ways: by columns, by events (byColumns: false), and by the
// views' own fold over JSON.parse of each event.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { columnFoldPlanOf } from '../../src/batch/column-fold.ts'
import { foldPartition } from '../../src/batch/partition-fold.ts'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { numericKernelOf } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { NumericTable } from '../../src/core/numeric-table.ts'
import { view } from '../../src/core/view.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { hopping, tumbling } from '../../src/core/window.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 0, 1)
// A function whose source text is exactly `source`.
const fn = (source: string) => new Function(`return ${source}`)() as (e: any) => any

const FILTERS = [
  "(e) => e.type === 'page_view' || true",
  "(e) => e.type === 'page_view' /* c */",
  "(e) => e.type === 'page_view' // c\n",
  "(e) => e.type == '1'",
  "(e) => e.type === 'caf\\u00e9'",
  "(e) => e.type === 'café'",
  "(e) => e.type === 'a\u2028b'",
  '(e) => e.type === `page_view`',
  "(e) => e.type === 'page_view'.toUpperCase()",
  "(e) => e.type === 'e'",
  "(e) => e.type === 'e.url'",
  "(e) => e.type === '=> x'",
  "(e) => e['type'] === 'page_view'",
  "(e) => e?.type === 'page_view'",
  "(e = {}) => e.type === 'page_view'",
  "async (e) => e.type === 'nope'",
  "(e) => (e.type === 'nope')",
  "(e) => !(e.type === 'page_view')",
  '(e) => e.type === "it\'s"',
  "(e) => e.type === '1'",
  "(e) => e.type!=='click'",
  "e=>e.type==='click'",
  "function (e) { return e.type === 'click' }",
  "(e) => e.type === 'click' ? 0 : 1",
  "(e) => e.src === 'web' && e.type === 'click'",
  '(e) => e.type !== \'{"a":1}\'',
]
const KEYS = [
  "(e) => e.url + ''",
  '(e) => (e.url)',
  "(e) => e.url ?? 'x'",
  '(e) => e.url',
  'e=>e.user',
  '(e) => e.n',
]
const READERS = [
  '(e) => e.n * 1',
  '(e) => +e.n',
  '(e) => e.n ?? 0',
  '(e) => e.n',
  '(e) => -e.n',
  '(e) => e.ts',
]

function views(): CompiledView<any, any>[] {
  const out: CompiledView<any, any>[] = []
  // First (so that the views after it are offered the event it threw on again), a view that throws on some events.
  out.push(
    compileView(
      view<any>('thrower')
        .filter((e) => {
          if (e.url === '/b') throw new Error('no /b')
          return true
        })
        .key((e) => e.url)
        .aggregate(count()),
      'ts',
    ),
  )
  for (const [i, f] of FILTERS.entries()) {
    out.push(
      compileView(
        view<any>(`f${i}`)
          .filter(fn(f))
          .key((e) => e.url)
          .window(tumbling('1h'))
          .aggregate(count()),
        'ts',
      ),
    )
  }
  for (const [i, k] of KEYS.entries()) {
    out.push(
      compileView(
        view<any>(`k${i}`)
          .key(fn(k))
          .aggregate(sum(fn('(e) => e.n'))),
        'ts',
      ),
    )
  }
  for (const [i, r] of READERS.entries()) {
    const monoid = [sum, min, max][i % 3]!
    out.push(
      compileView(
        view<any>(`r${i}`)
          .key((e) => e.user)
          .window(hopping({ size: '2h', advance: '1h' }))
          .aggregate(monoid(fn(r))),
        'ts',
      ),
    )
  }
  return out
}

/** Writes segments whose records have the given offsets (gaps allowed). */
async function writePartition(root: string, segments: Array<Array<[number, string]>>): Promise<void> {
  const store = await SegmentStore.open(root)
  let end = 0
  for (const segment of segments) {
    const builder = new SegmentBuilder()
    for (const [offset, text] of segment)
      builder.add({ offset, timestamp: offset, key: null, value: Buffer.from(text) })
    // An empty segment (offsets with no record, as a compacted topic leaves) covers three offsets.
    const last = segment.length === 0 ? end + 3 : segment[segment.length - 1]![0] + 1
    await store.writeSegment(0, { start: end, end: last }, builder.data(), builder.packer())
    end = last
  }
}

const ordered = (v: CompiledView<any, any>, table: ViewTable<unknown>) =>
  [...table.entries()].map(([key, start, state]) => JSON.stringify([start, key, v.monoid.encode(state)]))
const sorted = (v: CompiledView<any, any>, table: ViewTable<unknown>) => ordered(v, table).sort()

async function checkAll(
  t: import('node:test').TestContext,
  segments: Array<Array<[number, string]>>,
  horizons: number[],
): Promise<number> {
  const root = join(await tempDir(t, 'strata-column-review-'), 'master')
  await writePartition(root, segments)
  const all = segments.flat()
  let recognisedViews = 0
  for (const to of horizons) {
    const vs = views()
    const byColumns = await foldPartition({ root, partition: 0, to, views: vs })
    const walked = views()
    const byEvents = await foldPartition({ root, partition: 0, to, views: walked, byColumns: false })
    assert.equal(byColumns.events, byEvents.events, `events to ${to}`)
    assert.equal(byColumns.events, all.filter(([o]) => o < to).length, `events to ${to}`)
    const plain = views()
    const tables = plain.map((v) => v.createTable() as ViewTable<unknown>)
    const errors = plain.map(() => 0)
    for (const [offset, text] of all) {
      if (offset >= to) break
      const event = JSON.parse(text)
      for (const [i, v] of plain.entries()) {
        try {
          v.fold(tables[i]!, event)
        } catch {
          errors[i]!++
        }
      }
    }
    for (const [i, v] of vs.entries()) {
      assert.deepEqual(
        ordered(v, byColumns.tables[i]!),
        ordered(v, byEvents.tables[i]!),
        `${v.name} to ${to}`,
      )
      assert.deepEqual(byColumns.errors[i], byEvents.errors[i], `${v.name} errors to ${to}`)
      assert.deepEqual(
        sorted(v, byColumns.tables[i]!),
        sorted(v, tables[i]!),
        `${v.name} JSON.parse to ${to}`,
      )
      assert.equal(byColumns.errors[i]!.count, errors[i], `${v.name} JSON.parse errors to ${to}`)
    }
    recognisedViews = vs.filter((v) => {
      const kernel = numericKernelOf(v.monoid)
      return kernel !== undefined && columnFoldPlanOf(v, new NumericTable(v.monoid, kernel)) !== null
    }).length
  }
  return recognisedViews
}

const TYPES = ['page_view', 'click', 'café', 'a\u2028b', '1', "it's", 'e', 'e.url', 'PAGE_VIEW', '']
const event = (i: number) => ({
  type: TYPES[(i * 7) % TYPES.length],
  url: ['/a', '/b', '/c', '/ü'][i % 4],
  user: ['u1', 'u2', 'u3'][(i * 5) % 3],
  src: ['web', 'app'][i % 2],
  n: [1, -0, 0.1, 0.2, 2 ** 53, -3, 1e308, 0.3][(i * 3) % 8],
  ts: T0 + ((i * 37) % 7) * (HOUR / 2) + i,
})

test('look-alike filters, keys and readers fold exactly as by events, with a throwing view beside them', async (t) => {
  // One layout per segment (the fold by columns takes those), offsets with gaps.
  const segments: Array<Array<[number, string]>> = []
  let offset = 0
  for (let s = 0; s < 3; s++) {
    if (s === 2) {
      segments.push([])
      offset += 3
    }
    const records: Array<[number, string]> = []
    for (let i = 0; i < 40; i++) {
      records.push([offset, JSON.stringify(event(offset))])
      offset += 1 + ((offset * 13) % 3)
    }
    segments.push(records)
  }
  const last = offset
  const horizons = [
    0,
    1,
    2,
    3,
    50,
    segments[1]![0]![0],
    segments[1]![0]![0] + 1,
    segments[1]![39]![0],
    segments[1]![39]![0] + 1,
    segments[1]![39]![0] + 2,
    last - 1,
    last,
    last + 5,
  ]
  for (let h = 0; h <= last; h += 7) horizons.push(h)
  const recognised = await checkAll(t, segments, horizons)
  // Not vacuous: some of the look-alikes are the recognised shape.
  assert.ok(recognised >= 8, `${recognised} views recognised`)
})

test('a segment of several layouts between one-layout segments: the same view by columns, then by events, then by columns', async (t) => {
  const one = (from: number) =>
    Array.from({ length: 30 }, (_, i): [number, string] => [from + i, JSON.stringify(event(from + i))])
  const mixed: Array<[number, string]> = Array.from({ length: 30 }, (_, i): [number, string] => {
    const e: Record<string, unknown> = event(30 + i)
    if (i % 4 === 0) e.n = String(e.n)
    if (i % 5 === 0) delete e.type
    if (i % 6 === 0) e.ts = new Date(e.ts as number).toISOString()
    return [30 + i, JSON.stringify(e)]
  })
  // One layout whose filter field is an object and whose key is a lone surrogate (both kept as
  // JSON text in the dictionaries, kind j): their text must never be taken for the string.
  const json = Array.from({ length: 30 }, (_, i): [number, string] => [
    90 + i,
    JSON.stringify({ ...event(90 + i), type: { a: 1 }, url: '/d\ud800' }),
  ])
  const horizons = [0, 15, 29, 30, 31, 45, 59, 60, 61, 75, 90, 91, 105, 120, 121]
  await checkAll(t, [one(0), mixed, one(60), json], horizons)
})
