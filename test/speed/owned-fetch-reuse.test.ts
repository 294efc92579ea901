// Adversarial: the speed layer's fetch path with reused buffers end to end (session 17). Record
// sets are parsed into buffers of the fold thread's pool (fetcher.ts ownedParser, as speed-worker.ts
// asks), handed on whole (takeSpans) and come back with their window's drop; every buffer given
// back is filled with garbage before the pool may hand it out again. If a buffer ever returned
// while anything still read it (a window held by the thread, rebuilt later; another partition of
// the same thread; a compressed set; records decoded before the hand-off), the deltas would differ
// from the plain fold of the same records, or the garbage would be read as events.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { recordReaderFor } from '../../src/core/projected-check.ts'
import { ownedParser, spannedBatch } from '../../src/log/kafka/fetcher.ts'
import type { PartitionBatch } from '../../src/log/kafka/records.ts'
import { takeSpans } from '../../src/speed/batch-buffers.ts'
import { PendingWindow } from '../../src/speed/pending-window.ts'
import { RemoteWindow } from '../../src/speed/remote-window.ts'
import { deltaList } from '../../src/store/store.ts'
import { chunked, fetchAnswer } from '../log/kafka/fetch-answer.ts'
import { batchBytes } from '../log/kafka/record-batches.ts'
import { oneFoldThread, pageView, speedFixture } from './helpers.ts'

const PER = 40
const values = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ ...pageView(from + i), note: 'x'.repeat(300) }))

test('record sets fetched into reused buffers, poisoned when given back: every window answers the plain fold, rebuilt after reuse too', async (t) => {
  const fixture = await speedFixture(t, 2)
  const thread = await oneFoldThread(t, fixture)
  const pool = thread.buffers
  pool.smallest = 1 // every record set in a pooled buffer
  const give = pool.give.bind(pool)
  let poisoned = 0
  pool.give = (buffer: ArrayBuffer) => {
    new Uint8Array(buffer).fill(0xee)
    poisoned++
    give(buffer)
  }
  const parse = ownedParser((_p, bytes) => pool.take(bytes))
  /** One fetch: partition i's record set holds sets[i] (the values from offset base[i]). */
  const fetch = (sets: Array<{ base: number; n: number; gzip?: boolean }>): PartitionBatch[] => {
    const answer = fetchAnswer(
      sets.map(({ base, n, gzip }) =>
        n === 0
          ? Buffer.alloc(0)
          : batchBytes({ base, values: values(base, n), ...(gzip ? { compression: 'gzip' as const } : {}) }),
      ),
    )
    const raw = parse(0, 1, 17, chunked(answer, 997)).responses[0]!.partitions
    return raw.map((p, i) => spannedBatch('t', p, sets[i]!.base))
  }
  const open = (p: number, from: number) =>
    new RemoteWindow(thread, fixture.views, from, from, p, () => undefined)
  const send = (window: RemoteWindow, batch: PartitionBatch) => {
    const packed = takeSpans(batch.spans!, pool)
    window.takeRun(packed, 0, packed.offsets.length)
    window.advance(batch.nextOffset)
    window.send()
  }
  const check = async (window: RemoteWindow, p: number, from: number, n: number, required: number[]) => {
    const answer = await window.contents()
    const reference = inProcess(fixture.views, p, from, n, required)
    assert.deepEqual(deltaList(answer.deltas), deltaList(reference.deltas), `partition ${p} from ${from}`)
    assert.equal(answer.events, n)
  }

  // Partition 0's window A (held: not dropped) and partition 1's window X, fetched together.
  const a = open(0, 0)
  const x = open(1, 0)
  for (let k = 0; k < 3; k++) {
    const [b0, b1] = fetch([
      { base: k * PER, n: PER },
      { base: k * PER, n: PER },
    ])
    assert.notEqual(b0!.spans!.owned, undefined, 'taken whole')
    // Decoded before the hand-off: refused after it, never read as empty values.
    assert.equal(b1!.records.length, PER)
    send(a, b0!)
    send(x, b1!)
    assert.throws(() => b1!.records, /handed on/)
  }
  await check(x, 1, 0, 3 * PER, [])
  x.drop()
  // X's buffers come back (poisoned); partition 1's next window B reuses them, with a compressed
  // record set among its fetches (its pooled buffer is not handed on: the values are copied).
  const b = open(1, 3 * PER)
  await b.answered()
  assert.equal(poisoned, 3, "X's three buffers given back")
  const created = pool.created
  for (let k = 3; k < 6; k++)
    send(
      b,
      fetch([
        { base: 0, n: 0 },
        { base: k * PER, n: PER, gzip: k === 4 },
      ])[1]!,
    )
  assert.ok(pool.created < created + 3, 'some of B went in buffers given back')
  // A is rebuilt from its own buffers (a boundary among its records) after the pool reused X's.
  assert.equal(a.require([PER + 7]), 'sealed')
  await check(a, 0, 0, 3 * PER, [PER + 7])
  await check(b, 1, 3 * PER, 3 * PER, [])
  a.drop()
  b.drop()
})

/** The same records folded in process: the reference. */
function inProcess(
  views: Awaited<ReturnType<typeof speedFixture>>['views'],
  p: number,
  from: number,
  n: number,
  required: number[],
) {
  const read = recordReaderFor(views, 'ts')
  const window = new PendingWindow(views, read, from, from, p)
  values(from, n).forEach((text, i) => {
    const value = Buffer.from(text)
    const event = read(value, 0, value.length)
    assert.notEqual(typeof event, 'string')
    window.fold(from + i, event as never, value)
  })
  window.require(required)
  return window.contents()
}
