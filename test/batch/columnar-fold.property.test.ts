// The columnar fold (src/batch/columnar-fold.ts) decides a view's literal filters once per
// dictionary id, finds its groups by the key's id and reads the time from its column, with no call
// into the view's code. It must give exactly what the view's own fold gives over JSON.parse of each
// event, for events made to trip it: the filter's field or the key missing, a number, null, true,
// a nested object, a string with a lone surrogate (kept as JSON text), times as ISO text, negative,
// fractional or out of range, raw records, several segments and layouts; and it must fail a
// damaged segment as SEGMENT_CORRUPT as the view's read does.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { columnarPlanOf } from '../../src/batch/columnar-fold.ts'
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
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
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
  ].map((v) => compileView(v, 'ts'))
}

const planOf = (v: CompiledView<any, any>) => {
  const kernel = numericKernelOf(v.monoid)
  return kernel === undefined ? null : columnarPlanOf(v, new NumericTable(v.monoid, kernel))
}

test('the views of the columnar shape get a plan; look-alikes do not', () => {
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
const regularEvent = fc
  .record({
    type: fc.constantFrom('page_view', 'click'),
    url: fc.constantFrom('/a', '/b', '/c'),
    user: fc.constantFrom('u1', 'u2'),
    src: fc.constantFrom('web', 'app'),
    n: fc.integer({ min: -5, max: 5 }),
    ts: fc.integer({ min: 0, max: 6 * HOUR }).map((t) => T0 + t),
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

async function writePartition(root: string, texts: string[], perSegment: number): Promise<void> {
  const store = await SegmentStore.open(root)
  for (let start = 0; start < texts.length; start += perSegment) {
    const builder = new SegmentBuilder()
    const end = Math.min(texts.length, start + perSegment)
    for (let offset = start; offset < end; offset++)
      builder.add({ offset, timestamp: offset, key: null, value: Buffer.from(texts[offset]!) })
    await store.writeSegment(0, { start, end }, builder.data(), builder.packer())
  }
}

const dump = (v: CompiledView<any, any>, table: ViewTable<unknown>) =>
  [...table.entries()]
    .map(([key, start, state]) => JSON.stringify([start, key, v.monoid.encode(state)]))
    .sort()

let run = 0

test('the columnar fold gives exactly the views’ own fold over JSON.parse, with the same errors', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(eventText, { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 1, max: 70 }),
      async (texts, perSegment) => {
        const root = join(await tempDir(t, `strata-columnar-${run++}-`), 'master')
        await writePartition(root, texts, perSegment)
        const views = planned()
        const fold = await foldPartition({ root, partition: 0, to: texts.length, views })
        const plain = planned()
        const tables = plain.map((v) => v.createTable() as ViewTable<unknown>)
        const errors: string[][] = plain.map(() => [])
        for (const [offset, text] of texts.entries()) {
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
    { numRuns: 80 },
  )
})

test('a filter field’s string id outside its dictionary fails the columnar fold as SEGMENT_CORRUPT', async (t) => {
  const texts = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({ type: i % 2 ? 'page_view' : 'click', url: `/p${i % 3}`, ts: T0 + i * 60_000 }),
  )
  const root = join(await tempDir(t, `strata-columnar-${run++}-`), 'master')
  await writePartition(root, texts, 40)
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
