// A fold thread's window keeps each batch it folds by reference (PendingWindow.foldRecords), not
// each event's offset and span: whatever the batches, the seals inside them and the boundaries
// required after (rebuilds that read the kept batches again, skipping the records that are no
// event), it must commit exactly what the same records folded one by one commit.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { recordReaderFor } from '../../src/core/projected-check.ts'
import { view } from '../../src/core/view.ts'
import { hopping, tumbling } from '../../src/core/window.ts'
import { BatchBuffers, packRecords } from '../../src/speed/batch-buffers.ts'
import { PendingWindow } from '../../src/speed/pending-window.ts'

const HOUR = 3_600_000
const BASE = Date.UTC(2026, 0, 1)

const views = [
  view<any>('count_h')
    .filter((e) => e.type === 'page_view')
    .key((e) => e.url)
    .window(tumbling('1h'))
    .aggregate(count()),
  view<any>('sum_h')
    .key((e) => e.url)
    .window(hopping({ size: '2h', advance: '1h' }))
    .aggregate(sum((e) => e.n)),
  // Throws on events without `meta`: the error is recorded, the event skipped by this view only.
  view<any>('throws')
    .key((e) => e.meta.k)
    .aggregate(count()),
].map((v) => compileView(v, 'ts'))

const record = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        type: fc.constantFrom('page_view', 'click'),
        url: fc.constantFrom('/a', '/b', '/ü'),
        n: fc.integer({ min: -4, max: 8 }),
        ts: fc.integer({ min: 0, max: 4 * HOUR }).map((t) => BASE + t),
        meta: fc.option(fc.record({ k: fc.constantFrom('x', 'y') }), { nil: undefined }),
      })
      .map((e) => JSON.stringify(e)),
  },
  // Records that are no event: skipped when folded, and again when a rebuild reads them.
  { weight: 2, arbitrary: fc.constantFrom('{oops', '', '{"type":"click"}') },
)

type Op =
  | { kind: 'record'; value: string }
  | { kind: 'cut' }
  | { kind: 'seal' }
  | { kind: 'require'; back: number }
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: record.map((value) => ({ kind: 'record' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'cut' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'seal' as const }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 12 }).map((back) => ({ kind: 'require' as const, back })),
  },
)

/** Records packed as a fold request carries them: one buffer, with other bytes between values. */
function pack(records: Array<{ offset: number; value: string }>) {
  const parts: Buffer[] = []
  const starts = new Uint32Array(records.length)
  const ends = new Uint32Array(records.length)
  let at = 0
  records.forEach(({ value }, i) => {
    const bytes = Buffer.from(value)
    parts.push(Buffer.from([0xff, 0xfe]), bytes)
    starts[i] = at + 2
    ends[i] = at + 2 + bytes.length
    at += 2 + bytes.length
  })
  return {
    offsets: Float64Array.from(records, (r) => r.offset),
    starts,
    ends,
    values: Buffer.concat(parts),
  }
}

test('a window folding whole batches commits what the same records folded one by one commit, after seals inside batches and rebuilds', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 0, maxLength: 80 }), (ops) => {
      const read = recordReaderFor(views, 'ts')
      const one = new PendingWindow(views, read, 100, 100, 2)
      const batched = new PendingWindow(views, read, 100, 100, 2)
      let pending: Array<{ offset: number; value: string }> = []
      let seals: number[] = []
      const skipped: Array<[number, string]> = []
      const flush = () => {
        batched.foldRecords(pack(pending), seals, skipped)
        pending = []
        seals = []
      }
      let offset = 100
      const skippedOne: Array<[number, string]> = []
      for (const o of ops) {
        if (o.kind === 'record') {
          const bytes = Buffer.from(o.value)
          const event = read(bytes, 0, bytes.length)
          if (typeof event === 'string') {
            one.advance(offset + 1)
            skippedOne.push([offset, event])
          } else one.fold(offset, event, bytes)
          pending.push({ offset, value: o.value })
          offset++
        } else if (o.kind === 'cut') flush()
        else if (o.kind === 'seal') {
          one.seal(offset)
          seals.push(pending.length, offset)
        } else {
          flush()
          const boundary = [Math.max(101, offset - o.back)]
          assert.equal(batched.require(boundary), one.require(boundary))
        }
      }
      flush()
      assert.deepStrictEqual(batched.deltas(), one.deltas())
      assert.deepStrictEqual(batched.errors, one.errors)
      assert.deepStrictEqual(skipped, skippedOne)
      assert.equal(batched.events, one.events)
      assert.equal(batched.end, one.end)
      assert.deepStrictEqual(batched.seals, one.seals)
    }),
    { numRuns: Number(process.env.STRATA_PROPERTY_RUNS ?? 300) },
  )
})

test('a window takes records one way: whole batches or one by one, never both', () => {
  const read = recordReaderFor(views, 'ts')
  const value = JSON.stringify({ type: 'click', url: '/a', n: 1, ts: BASE })
  const window = new PendingWindow(views, read, 0, 0)
  window.foldRecords(pack([{ offset: 0, value }]), [], [])
  const bytes = Buffer.from(value)
  assert.throws(() => window.fold(1, read(bytes, 0, bytes.length) as never, bytes), /one way/)
  const other = new PendingWindow(views, read, 0, 0)
  other.fold(0, read(bytes, 0, bytes.length) as never, bytes)
  assert.throws(() => other.foldRecords(pack([{ offset: 1, value }]), [], []), /one way/)
})

// A rebuild reads a kept batch again and skips what is no event: were the batch's memory handed
// on (detached: transferred away) or its bytes overwritten (a buffer reused too soon), it would
// skip events the first fold counted and commit less than `events` says. The per-record path
// throws INTERNAL then (a kept event that no longer parses); a kept batch must not do less.
for (const [name, spoil] of [
  ['detached', (b: ArrayBuffer) => void structuredClone(b, { transfer: [b] })],
  ['overwritten', (b: ArrayBuffer) => void new Uint8Array(b).fill(0x20)],
] as const) {
  test(`a rebuild from a kept batch whose memory was ${name} fails, never commits fewer events`, () => {
    const read = recordReaderFor(views, 'ts')
    const value = (t: number) => JSON.stringify({ type: 'page_view', url: '/a', n: 1, ts: BASE + t })
    const records = [0, 1, 2].map((i) => ({ offset: i, value: value(i * HOUR) }))
    // The batch laid out as the main thread sends it: offsets, spans and bytes in one buffer.
    const packed = packRecords(
      records.map((r) => ({ offset: r.offset, value: Buffer.from(r.value) })),
      new BatchBuffers(),
    )
    const { buffer } = packed
    const values = Buffer.from(buffer, packed.values.byteOffset, packed.values.byteLength)
    const window = new PendingWindow(views, read, 0, 0)
    assert.equal(window.foldRecords({ ...packed, values }, [], []), 3)
    spoil(buffer)
    assert.throws(() => window.require([1]), {
      code: 'STRATA_ERR_INTERNAL',
      message: /no longer reads as it did/,
    })
  })
}
