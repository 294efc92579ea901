// The batch layer's fast path — only the fields its views read, decoded from the columnar packed
// cache into one refilled object per record layout (core/view-fields.ts,
// master-dataset/packed-cursor.ts) — must give exactly the batch version whole events give: the
// same groups, the same encoded states (sketches byte for byte), the same errors. Checked against
// two references: the same fold over whole decoded events, and the views folded over
// JSON.parse of each event's text (what the speed layer does).
import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { foldPartition } from '../../src/batch/partition-fold.ts'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { mean } from '../../src/core/monoids/mean.ts'
import { quantiles } from '../../src/core/monoids/quantiles.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { topK } from '../../src/core/monoids/top-k.ts'
import { type View, view } from '../../src/core/view.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { hopping, tumbling } from '../../src/core/window.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

const HOUR = 3_600_000

// Every built-in aggregate, windowed (tumbling and hopping) and not, with filters, a map step and
// a view whose code throws on some events.
function derivableViews(): CompiledView<any, any>[] {
  const page = (name: string) => view<any>(name).filter((e) => e.type === 'page_view')
  const defs: View<any, any, any>[] = [
    page('count_h')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    page('count_all')
      .key(() => 'all')
      .aggregate(count()),
    view<any>('sum_h')
      .key((e) => e.url)
      .window(hopping({ size: '2h', advance: '1h' }))
      .aggregate(sum((e) => e.n)),
    view<any>('sum_all')
      .key((e) => e.type)
      .aggregate(sum((e) => e.n)),
    view<any>('min_h')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(min((e) => e.n)),
    view<any>('max_all')
      .key((e) => e.url)
      .aggregate(max((e) => e.n)),
    view<any>('mean_d')
      .key((e) => e.url)
      .window(tumbling('1d'))
      .aggregate(mean((e) => e.n)),
    view<any>('distinct_h')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(distinctCount((e) => e.user, { exactLimit: 4 })),
    view<any>('distinct_all')
      .key(() => 'all')
      .aggregate(distinctCount((e) => e.user)),
    view<any>('topk_h')
      .key((e) => e.type)
      .window(tumbling('1h'))
      .aggregate(topK(2, (e) => e.url, { capacity: 3 })),
    page('topk_all')
      .key(() => 'all')
      .aggregate(topK(3, (e) => e.url)),
    view<any>('quantiles_h')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(quantiles((e) => e.n)),
    view<any>('quantiles_all')
      .key(() => 'all')
      .aggregate(quantiles((e) => e.n, { maxBuckets: 8 })),
    view<any>('mapped')
      .filter((e) => e.n !== undefined)
      .map((e) => ({ u: e.url, v: e.n }))
      .key((x) => x.u)
      .aggregate(sum((x: any) => x.v)),
    // Throws on events without a nested object `meta`: the error is recorded, the event skipped.
    view<any>('throws')
      .key((e) => e.meta.k)
      .aggregate(count()),
    view<any>('nested')
      .key((e) => e.meta?.k)
      .window(tumbling('1h'))
      .aggregate(distinctCount((e) => e.user)),
  ]
  return defs.map((v) => compileView(v, 'ts'))
}

/** The same views, told to read whole events (as when their fields are unknown). */
const whole = (views: CompiledView<any, any>[]) => views.map((v) => ({ ...v, fields: null }))

/** A table as plain data: [window, key, encoded state as JSON], sorted. */
function dump(view: CompiledView<any, any>, table: ViewTable<unknown>): string[] {
  return [...table.entries()]
    .map(([key, start, state]) => JSON.stringify([start, key, view.monoid.encode(state)]))
    .sort()
}

// Events: mostly objects of a few fields, with fields missing, of other kinds, extra fields in any
// order, nested values; and some events that are not objects at all, or hold "__proto__" or -0.
const field = (values: fc.Arbitrary<unknown>) => fc.option(values, { nil: undefined, freq: 5 })
const KEYS = ['type', 'url', 'user', 'n', 'meta', 'ts', 'extra']
const objectEvent = fc
  .tuple(
    fc.record({
      type: field(fc.constantFrom('page_view', 'click', 7, null, true)),
      url: field(fc.oneof(fc.constantFrom('/a', '/b', '/c', '/d\ud800'), fc.string({ maxLength: 3 }))),
      user: field(fc.oneof(fc.constantFrom('u1', 'u2', 'u3'), fc.integer({ min: 0, max: 9 }))),
      n: field(
        fc.oneof(
          fc.integer({ min: -5, max: 5 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constant('3'),
        ),
      ),
      meta: field(
        fc.oneof(fc.record({ k: fc.constantFrom('x', 'y') }), fc.constant([1, -0]), fc.constant(null)),
      ),
      ts: field(fc.integer({ min: 0, max: 30 * HOUR }).map((t) => Date.UTC(2026, 0, 1) + t)),
      extra: field(fc.jsonValue({ maxDepth: 2 })),
    }),
    fc.shuffledSubarray(KEYS, { minLength: KEYS.length }),
  )
  .map(([e, order]) => {
    const out: Record<string, unknown> = {}
    for (const k of order)
      if ((e as Record<string, unknown>)[k] !== undefined) out[k] = (e as Record<string, unknown>)[k]
    return JSON.stringify(out)
  })
// Runs of one layout, as real traffic has, so that refilled objects are reused many times.
const regularEvent = fc
  .record({
    type: fc.constantFrom('page_view', 'click'),
    url: fc.constantFrom('/a', '/b', '/c'),
    user: fc.constantFrom('u1', 'u2', 'u3', 'u4'),
    n: fc.integer({ min: -5, max: 5 }),
    ts: fc.integer({ min: 0, max: 30 * HOUR }).map((t) => Date.UTC(2026, 0, 1) + t),
  })
  .map((e) => JSON.stringify(e))
const eventText = fc.oneof(
  { weight: 30, arbitrary: regularEvent },
  { weight: 10, arbitrary: objectEvent },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '[1,2]',
      '"text"',
      '{"__proto__":{"url":"/x"},"url":"/a","ts":1}',
      '{"url":"/a","ts":5,"meta":{"z":-0}}',
    ),
  },
)

async function writePartition(root: string, texts: string[], perSegment: number): Promise<void> {
  const store = await SegmentStore.open(root)
  for (let start = 0; start < texts.length; start += perSegment) {
    const builder = new SegmentBuilder()
    const end = Math.min(texts.length, start + perSegment)
    for (let offset = start; offset < end; offset++) {
      builder.add({ offset, timestamp: offset, key: null, value: Buffer.from(texts[offset]!) })
    }
    await store.writeSegment(0, { start, end }, builder.data(), builder.packer())
  }
}

/** Each view folded over JSON.parse of each event below `to`, as the speed layer folds. */
function reference(views: CompiledView<any, any>[], texts: string[], to: number) {
  const tables = views.map((v) => v.createTable() as ViewTable<unknown>)
  const errors: Array<Array<[number, string]>> = views.map(() => [])
  for (let offset = 0; offset < Math.min(to, texts.length); offset++) {
    const event = JSON.parse(texts[offset]!)
    for (const [i, v] of views.entries()) {
      try {
        v.fold(tables[i] as ViewTable<any>, event)
      } catch (thrown) {
        errors[i]!.push([offset, (thrown as Error).message])
      }
    }
  }
  return { tables, errors }
}

test('the projected fold gives exactly the batch version of whole events, for every built-in aggregate', async (t) => {
  const views = derivableViews()
  // Not vacuous: every one of these views is folded over projected, refilled events.
  for (const v of views) assert.notEqual(v.fields, null, `${v.name} should have known fields`)
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(eventText, { minLength: 1, maxLength: 250 }),
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 0, max: 300 }),
      async (texts, perSegment, horizon) => {
        const root = join(await tempDir(t, `strata-projected-${run++}-`), 'master')
        await writePartition(root, texts, perSegment)
        const to = Math.min(horizon, texts.length)
        const projected = await foldPartition({ root, partition: 0, to, views })
        const full = await foldPartition({ root, partition: 0, to, views: whole(views) })
        const plain = reference(views, texts, to)
        assert.equal(projected.events, to)
        assert.equal(full.events, to)
        for (const [i, v] of views.entries()) {
          const expected = dump(v, plain.tables[i]!)
          assert.deepEqual(dump(v, projected.tables[i]!), expected, `${v.name}: projected`)
          assert.deepEqual(dump(v, full.tables[i]!), expected, `${v.name}: whole events`)
          const recorded = (fold: typeof projected) =>
            fold.errors[i]!.recent.map((e) => [e.offset, e.message.replace(/^\w+: /, '')])
          assert.equal(projected.errors[i]!.count, plain.errors[i]!.length, `${v.name}: errors`)
          assert.deepEqual(recorded(projected), plain.errors[i]!.slice(-20), `${v.name}: recent errors`)
          assert.deepEqual(recorded(projected), recorded(full))
        }
      },
    ),
    { numRuns: 60 },
  )
})

test('a damaged or stale columnar cache is rebuilt, and the projected fold stays exact', async (t) => {
  const views = derivableViews()
  const texts = Array.from({ length: 400 }, (_, i) =>
    JSON.stringify({
      type: i % 3 ? 'page_view' : 'click',
      url: `/p${i % 7}`,
      user: `u${i % 13}`,
      n: i % 5,
      ts: i * 60_000,
    }),
  )
  const root = join(await tempDir(t), 'master')
  await writePartition(root, texts, 100)
  const expected = reference(views, texts, 400).tables.map((table, i) => dump(views[i]!, table))
  const check = async () => {
    const fold = await foldPartition({ root, partition: 0, to: 400, views })
    assert.deepEqual(
      fold.tables.map((table, i) => dump(views[i]!, table)),
      expected,
    )
  }
  await check()
  const dir = join(root, 'p0000')
  const packed = (await readdir(dir)).filter((name) => name.endsWith('.packed')).sort()
  assert.equal(packed.length, 4)
  // Damage a byte in every section the projection reads, one file at a time: each is caught by a
  // section's CRC and the file rebuilt from the NDJSON.
  const original = await readFile(join(dir, packed[0]!))
  const header = JSON.parse(original.toString('utf8', 20, 20 + original.readUInt32LE(16)))
  const url = header.columns.find((c: { name: string }) => c.name === 'url')
  for (const section of [url.ids, url.text, url.ends]) {
    const damaged = Buffer.from(original)
    damaged[header.sections[section][0]]! ^= 0x01
    await writeFile(join(dir, packed[0]!), damaged)
    await check()
    assert.deepEqual(await readFile(join(dir, packed[0]!)), original, 'rebuilt to the same bytes')
  }
  // A cache of the previous, row-oriented format (version 3) is rebuilt too.
  const stale = Buffer.from(original)
  stale.writeUInt32LE(3, 8)
  await writeFile(join(dir, packed[1]!), stale)
  await check()
  assert.equal((await readFile(join(dir, packed[1]!))).readUInt32LE(8), 4)
})
