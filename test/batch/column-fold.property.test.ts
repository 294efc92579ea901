// The fold by columns (src/batch/column-fold.ts) reads a recognised view's filters, key, time and
// input from the packed segment's typed arrays, with no call into the view's code. It must give
// exactly what the views' own fold gives: over JSON.parse of each event (values equal), and over
// the same segments walked event by event (byColumns: false: the same states, keys and windows in
// the same order, the same errors). The events are made to trip it: fields missing or of another
// kind, lone surrogates (kept as JSON text), non-ASCII and many keys, keys spanning segments, times
// as ISO text, negative, fractional or out of range, numbers at the edges (-0, 2^53, 1e308, the
// least subnormal), raw records, several layouts, filters matching nothing or everything, tumbling,
// hopping and no windows, and horizons inside a segment; and it must fail a damaged segment as
// SEGMENT_CORRUPT as the view's read does.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { columnFoldPlanOf, foldColumns } from '../../src/batch/column-fold.ts'
import { foldPartition } from '../../src/batch/partition-fold.ts'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { numericKernelOf } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { NumericTable } from '../../src/core/numeric-table.ts'
import { view } from '../../src/core/view.ts'
import { literalTestOf } from '../../src/core/view-fields.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { hopping, tumbling } from '../../src/core/window.ts'
import {
  listSegments,
  PackedSegmentReader,
  SegmentBuilder,
  SegmentStore,
} from '../../src/master-dataset/index.ts'
import type { PackedHeader } from '../../src/master-dataset/packed-segment.ts'
import { segmentFileName } from '../../src/master-dataset/segment-format.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 0, 1)

function planned(): CompiledView<any, any>[] {
  return [
    view<any>('pv_url_h')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    // biome-ignore format: double quotes are a case of their own
    view<any>('not_click_url')
      .filter((e) => e.type !== "click")
      .key((e) => e.url)
      .aggregate(count()),
    view<any>('pv_web_user_hop')
      .filter((e) => e.type === 'page_view')
      .filter((e) => e.src === 'web')
      .key((e) => e.user)
      .window(hopping({ size: '2h', advance: '1h' }))
      .aggregate(sum((e) => e.n)),
    view<any>('url_not_a_min')
      .filter((e) => e.url !== '/a')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(min((e) => e.n)),
    view<any>('by_type_max')
      .key((e) => e.type)
      .window(tumbling('30m'))
      .aggregate(max((e) => e.n)),
    view<any>('empty_literal')
      .filter((e) => e.src !== '')
      .key((e) => e.src)
      .aggregate(count()),
    view<any>('matches_nothing')
      .filter((e) => e.type === 'nope')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    view<any>('matches_everything_sum')
      .filter((e) => e.type !== 'nope')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(sum((e) => e.n)),
    view<any>('no_filter_url_max')
      .key((e) => e.url)
      .window(hopping({ size: '3h', advance: '1h' }))
      .aggregate(max((e) => e.n)),
  ].map((v) => compileView(v, 'ts'))
}

const planOf = (v: CompiledView<any, any>) => {
  const kernel = numericKernelOf(v.monoid)
  return kernel === undefined ? null : columnFoldPlanOf(v, new NumericTable(v.monoid, kernel))
}

test('the views of the recognised shape get a plan; look-alikes do not', () => {
  for (const v of planned()) assert.notEqual(planOf(v), null, v.name)
  const others = [
    // biome-ignore lint/suspicious/noDoubleEquals: a loose comparison is a case of its own
    view<any>('loose').filter((e) => e.type == 'page_view'),
    view<any>('escaped').filter((e) => e.type === 'page\u005fview'),
    view<any>('reversed').filter((e) => 'page_view' === e.type),
    view<any>('template').filter((e) => e.type === `page_view`),
    view<any>('other_param').filter((e) => (globalThis as any).x.type === 'page_view' || e.type === 'x'),
  ].map((v) => v.key((e) => e.url).aggregate(count()))
  for (const v of others) assert.equal(planOf(compileView(v, 'ts')), null, v.name)
  // A key that is not a bare field, or a monoid without a numeric kernel: no plan.
  assert.equal(
    planOf(
      compileView(
        view<any>('k')
          .key((e) => `${e.url}`)
          .aggregate(count()),
        'ts',
      ),
    ),
    null,
  )
  assert.deepEqual(
    literalTestOf((e: any) => e.type !== 'a b'),
    { field: 'type', literal: 'a b', equal: false },
  )
  assert.equal(
    literalTestOf((e: any) => e.toString === 'x'),
    null,
  )
  assert.equal(
    literalTestOf((e: any) => e.type === '\ud800'),
    null,
  )
})

const field = (values: fc.Arbitrary<unknown>) => fc.option(values, { nil: undefined, freq: 4 })
const KEYS = ['type', 'url', 'user', 'src', 'n', 'ts']
const oddEvent = fc
  .tuple(
    fc.record({
      type: field(
        fc.constantFrom('page_view', 'click', 'page_view\ud800', 7, null, true, false, { a: 1 }, ''),
      ),
      url: field(
        fc.oneof(fc.constantFrom('/a', '/b', '/c', '/d\ud800', 5, null, ['/a']), fc.string({ maxLength: 2 })),
      ),
      user: field(fc.constantFrom('u1', 'u2', 3, null)),
      src: field(fc.constantFrom('web', 'app', '', 1, null)),
      n: field(
        fc.oneof(
          fc.integer({ min: -5, max: 5 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constant('3'),
        ),
      ),
      ts: field(
        fc.oneof(
          fc.integer({ min: 0, max: 6 * HOUR }).map((t) => T0 + t),
          fc.integer({ min: 0, max: 6 * HOUR }).map((t) => new Date(T0 + t).toISOString()),
          fc.constantFrom(-1, 1.5, T0 + 0.5, 1e300, '1', null, true, Date.UTC(10000, 0, 1), 0),
        ),
      ),
    }),
    fc.shuffledSubarray(KEYS, { minLength: KEYS.length }),
  )
  .map(([e, order]) => {
    const out: Record<string, unknown> = {}
    for (const k of order) if ((e as any)[k] !== undefined) out[k] = (e as any)[k]
    return JSON.stringify(out)
  })
// Events of one layout (the same fields, of the same kinds, in the same order): the segments the
// fold by columns takes. Many keys, non-ASCII ones, numbers and times at the edges.
const regularEvent = fc
  .record({
    type: fc.constantFrom('page_view', 'click'),
    url: fc.oneof(
      fc.constantFrom('/a', '/b', '/c', '/ü', '/日本', '/😀', '', 'a\u0000b', '__proto__', 'toString'),
      fc.integer({ min: 0, max: 400 }).map((i) => `/k${i}`),
      fc.string({ maxLength: 3, unit: 'grapheme' }),
    ),
    user: fc.constantFrom('u1', 'u2', 'ü'),
    src: fc.constantFrom('web', 'app', ''),
    n: fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: -5, max: 5 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          2 ** 53,
          -(2 ** 53),
          2 ** 53 - 1,
          1e308,
          -1e308,
          5e-324,
          0.1,
          -0.5,
          1.5e300,
        ),
      },
    ),
    ts: fc.oneof(
      { weight: 300, arbitrary: fc.integer({ min: 0, max: 6 * HOUR }).map((t) => T0 + t) },
      { weight: 5, arbitrary: fc.constantFrom(0, 1, Date.UTC(9999, 11, 31, 23, 59, 59, 999), 2 * HOUR) },
      // Numbers the view's time read does not take as they are: the segment then folds by events.
      { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, T0 + 0.5, 1e300, Date.UTC(10000, 0, 1)) },
    ),
  })
  .map((e) => JSON.stringify(e))
const eventText = fc.oneof(
  { weight: 20, arbitrary: regularEvent },
  { weight: 10, arbitrary: oddEvent },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '[1,2]',
      '"text"',
      '{"type":"page_view","url":"/a","ts":5,"n":-0}',
      // Raw records (kept as their JSON text): an own "__proto__", a nested -0.
      '{"__proto__":{"x":1},"type":"page_view","url":"/b","src":"web","user":"u1","ts":5}',
      '{"type":"page_view","url":"/a","src":"web","user":"u2","ts":7,"m":{"z":-0}}',
      '{"url":"/a","url":"/b","ts":1}',
    ),
  },
)

/** Segments of one layout mostly, some mixed. */
const segmentTexts = fc.oneof(
  { weight: 3, arbitrary: fc.array(regularEvent, { minLength: 1, maxLength: 60 }) },
  { weight: 1, arbitrary: fc.array(eventText, { minLength: 1, maxLength: 60 }) },
)

/** Writes the segments; returns the events in offset order. */
async function writePartition(root: string, segments: string[][]): Promise<string[]> {
  const store = await SegmentStore.open(root)
  const texts: string[] = []
  for (const segment of segments) {
    const builder = new SegmentBuilder()
    const start = texts.length
    for (const text of segment) {
      builder.add({ offset: texts.length, timestamp: texts.length, key: null, value: Buffer.from(text) })
      texts.push(text)
    }
    await store.writeSegment(0, { start, end: texts.length }, builder.data(), builder.packer())
  }
  return texts
}

/** How many (segment, view) pairs below `to` the fold by columns takes (foldColumns on a scratch table). */
async function recognised(root: string, to: number, views: CompiledView<any, any>[]): Promise<number> {
  const reader = new PackedSegmentReader(root, 0)
  const fields = [...new Set(views.flatMap((v) => v.fields ?? []))].sort()
  let n = 0
  try {
    for (const range of await listSegments(root, 0)) {
      if (range.start >= to) break
      const cursor = await reader.open(range, fields, true)
      for (const v of views) {
        const table = new NumericTable(v.monoid, numericKernelOf(v.monoid)!)
        table.newKeyIds(cursor.dictionary(v.keyField!)?.size ?? 0)
        if (foldColumns(columnFoldPlanOf(v, table)!, table, cursor, cursor.recordsBelow(to))) n++
      }
    }
  } finally {
    reader.release()
  }
  return n
}

const ordered = (v: CompiledView<any, any>, table: ViewTable<unknown>) =>
  [...table.entries()].map(([key, start, state]) => JSON.stringify([start, key, v.monoid.encode(state)]))

const dump = (v: CompiledView<any, any>, table: ViewTable<unknown>) =>
  [...table.entries()]
    .map(([key, start, state]) => JSON.stringify([start, key, v.monoid.encode(state)]))
    .sort()

let run = 0

let pairs = 0

test('the fold by columns gives exactly the views’ own fold, event by event and over JSON.parse, with the same errors', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(segmentTexts, { minLength: 1, maxLength: 6, size: 'max' }),
      fc.integer({ min: 0, max: 1100 }).map((i) => i / 1000),
      async (segments, at) => {
        const root = join(await tempDir(t, `strata-column-fold-${run++}-`), 'master')
        const texts = await writePartition(root, segments)
        // The horizon: anywhere, inside a segment or past the last.
        const to = Math.floor(at * texts.length)
        const views = planned()
        pairs += await recognised(root, to, views)
        const fold = await foldPartition({ root, partition: 0, to, views })
        const walked = planned()
        const byEvents = await foldPartition({ root, partition: 0, to, views: walked, byColumns: false })
        assert.equal(fold.events, byEvents.events)
        assert.equal(fold.events, Math.min(to, texts.length))
        for (const [i, v] of views.entries()) {
          assert.deepEqual(
            ordered(v, fold.tables[i]!),
            ordered(v, byEvents.tables[i]!),
            `${v.name}: by events`,
          )
          assert.deepEqual(fold.errors[i], byEvents.errors[i], `${v.name}: errors by events`)
        }
        const plain = planned()
        const tables = plain.map((v) => v.createTable() as ViewTable<unknown>)
        const errors: string[][] = plain.map(() => [])
        for (const [offset, text] of texts.slice(0, to).entries()) {
          const event = JSON.parse(text)
          for (const [i, v] of plain.entries()) {
            try {
              v.fold(tables[i] as ViewTable<any>, event)
            } catch (thrown) {
              errors[i]!.push(`${offset} ${(thrown as Error).message}`)
            }
          }
        }
        for (const [i, v] of views.entries()) {
          assert.deepEqual(dump(v, fold.tables[i]!), dump(v, tables[i]!), v.name)
          const recorded = fold.errors[i]!.recent.map((e) => `${e.offset} ${e.message.replace(/^\w+: /, '')}`)
          assert.equal(fold.errors[i]!.count, errors[i]!.length, `${v.name}: errors`)
          assert.deepEqual(recorded, errors[i]!.slice(-20), `${v.name}: recent errors`)
        }
      },
    ),
    { numRuns: 150 },
  )
  // Not vacuous: most segments of one layout were folded by columns.
  assert.ok(pairs > 800, `${pairs} (segment, view) pairs folded by columns`)
})

test('a filter field’s string id outside its dictionary fails the fold by columns as SEGMENT_CORRUPT', async (t) => {
  const texts = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({ type: i % 2 ? 'page_view' : 'click', url: `/p${i % 3}`, ts: T0 + i * 60_000 }),
  )
  const root = join(await tempDir(t, `strata-column-fold-${run++}-`), 'master')
  await writePartition(root, [texts])
  const views = [planned()[0]!]
  assert.equal((await foldPartition({ root, partition: 0, to: 40, views })).events, 40)
  // A writer's bug under valid CRCs: record 7's type id points past the dictionary.
  const file = join(root, 'p0000', segmentFileName({ start: 0, end: 40 }).replace(/\.ndjson$/, '.packed'))
  const out = await readFile(file)
  const length = out.readUInt32LE(16)
  const header = JSON.parse(out.toString('utf8', 20, 20 + length)) as PackedHeader
  const section = header.sections[header.columns.find((c) => c.name === 'type')!.ids!]!
  out.writeUInt32LE(999, section[0] + 4 * 7)
  section[2] = crc32(out.subarray(section[0], section[0] + section[1]))
  const json = Buffer.alloc(length, ' ')
  json.write(JSON.stringify(header))
  json.copy(out, 20)
  out.writeUInt32LE(crc32(json), 12)
  await writeFile(file, out)
  await assert.rejects(foldPartition({ root, partition: 0, to: 40, views: [planned()[0]!] }), {
    code: 'STRATA_ERR_SEGMENT_CORRUPT',
  })
})
