// A fold thread packs a window's deltas into columns straight from its tables
// (fold-thread-main.ts packDeltas, PendingWindow.eachDelta), and the main thread unpacks them
// (fold-threads.ts unpackDeltas): for every monoid kind, windowed or not, with states that are
// one number and states that are not (and views mixing both, min/max's null), with a view whose
// code throws on some events, after seals and rebuilds, what crosses the thread boundary must be
// exactly what the in-process window commits (deltas(), errors, events).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { mean } from '../../src/core/monoids/mean.ts'
import { quantiles } from '../../src/core/monoids/quantiles.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { topK } from '../../src/core/monoids/top-k.ts'
import { recordReaderFor } from '../../src/core/projected-check.ts'
import { type View, view } from '../../src/core/view.ts'
import { hopping, tumbling } from '../../src/core/window.ts'
import { packDeltas } from '../../src/speed/fold-thread-main.ts'
import { unpackDeltas } from '../../src/speed/fold-threads.ts'
import { PendingWindow } from '../../src/speed/pending-window.ts'
import { deltaList } from '../../src/store/store.ts'

const HOUR = 3_600_000
const BASE = Date.UTC(2026, 0, 1)

function everyKind(): CompiledView<any, any>[] {
  const defs: View<any, any, any>[] = [
    view<any>('count_h')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    view<any>('count_all')
      .key(() => 'all')
      .aggregate(count()),
    view<any>('sum_h')
      .key((e) => e.url)
      .window(hopping({ size: '2h', advance: '1h' }))
      .aggregate(sum((e) => e.n)),
    view<any>('min_h')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(min((e) => e.n)),
    view<any>('max_all')
      .key((e) => e.url)
      .aggregate(max((e) => e.n)),
    view<any>('mean_all')
      .key((e) => e.type)
      .aggregate(mean((e) => e.n)),
    view<any>('distinct_h')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(distinctCount((e) => e.user, { exactLimit: 2 })),
    view<any>('topk_all')
      .key(() => 'all')
      .aggregate(topK(2, (e) => e.url, { capacity: 3 })),
    view<any>('quantiles_h')
      .key((e) => e.type)
      .window(tumbling('1h'))
      .aggregate(quantiles((e) => e.n, { maxBuckets: 8 })),
    // Throws on events without `meta`: the error is recorded, the event skipped by this view only.
    view<any>('throws')
      .key((e) => e.meta.k)
      .aggregate(count()),
  ]
  return defs.map((v) => compileView(v, 'ts'))
}

const record = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        type: fc.constantFrom('page_view', 'click'),
        url: fc.constantFrom('/a', '/b', '/ü', '/c'),
        user: fc.constantFrom('u0', 'u1', 'u2', 'u3'),
        n: fc.oneof(
          fc.integer({ min: -4, max: 8 }).map((n) => n / 2),
          fc.constant(-0),
        ),
        ts: fc.integer({ min: 0, max: 4 * HOUR }).map((t) => BASE + t),
        meta: fc.option(fc.record({ k: fc.constantFrom('x', 'y') }), { nil: undefined }),
      })
      .map((e) => JSON.stringify(e)),
  },
  { weight: 1, arbitrary: fc.constantFrom('{oops', '', '{"type":"click"}') },
)

type Op = { kind: 'record'; value: string } | { kind: 'seal' } | { kind: 'require'; back: number }
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: record.map((value) => ({ kind: 'record' as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'seal' as const }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 10 }).map((back) => ({ kind: 'require' as const, back })),
  },
)

test('packed deltas, unpacked, are what the in-process window commits: every monoid kind, windowed or not, after seals and rebuilds', () => {
  const all = everyKind()
  // The views a thread folds: all, or some (only numeric states: the Float64Array column).
  const folded = fc.oneof(fc.constant(all), fc.subarray(all, { minLength: 1 }))
  fc.assert(
    fc.property(
      fc.array(op, { minLength: 0, maxLength: 60 }),
      folded,
      fc.boolean(),
      (ops, views, wantAll) => {
        const read = recordReaderFor(views, 'ts')
        const window = new PendingWindow(views, read, 100, 100, 3)
        let offset = 100
        for (const o of ops) {
          if (o.kind === 'record') {
            const bytes = Buffer.from(o.value)
            const event = read(bytes, 0, bytes.length)
            if (typeof event === 'string') window.advance(offset + 1)
            else window.fold(offset, event, bytes)
            offset++
          } else if (o.kind === 'seal') window.seal(offset)
          else window.require([Math.max(101, offset - o.back)])
        }
        // What crosses the thread boundary: a structured clone (the columns' buffers transferred).
        const packed = structuredClone(packDeltas(window))
        const wanted = wantAll ? views : views.filter((_, i) => i % 3 !== 1)
        const unpacked = unpackDeltas(packed, views, wanted)
        const names = new Set(wanted.map((v) => v.name))
        const expected = window.deltas().filter((d) => names.has(d.view))
        assert.deepStrictEqual(deltaList(unpacked.deltas), expected)
        assert.deepStrictEqual(
          unpacked.errors,
          window.errors.filter((e) => names.has(e.view)),
        )
        assert.equal(unpacked.events, window.events)
      },
    ),
    { numRuns: Number(process.env.STRATA_PROPERTY_RUNS ?? 200) },
  )
})
