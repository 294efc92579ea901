// The batch buffers a fold thread is sent records in, reused (src/speed/batch-buffers.ts): a
// buffer comes back only with its window's drop, so a window still held by the thread (which may
// be rebuilt from its records) never has its bytes overwritten by a later batch, and a window
// folded in reused buffers answers exactly what the same records answer in process.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { recordReaderFor } from '../../src/core/projected-check.ts'
import {
  BatchBuffers,
  MIN_BYTES,
  POOLED_BYTES,
  packRecords,
  takeSpans,
} from '../../src/speed/batch-buffers.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import { PendingWindow } from '../../src/speed/pending-window.ts'
import { RemoteWindow } from '../../src/speed/remote-window.ts'
import { deltaList } from '../../src/store/store.ts'
import { assertExact, MemoryPartition, oneFoldThread, pageView, speedFixture, withSpans } from './helpers.ts'

test('the pool hands out power-of-two buffers, reuses what is given back, drops detached ones and bounds what it keeps', () => {
  const pool = new BatchBuffers()
  const a = pool.take(100_000)
  assert.equal(a.byteLength, 131_072)
  assert.equal(pool.take(MIN_BYTES).byteLength, 65_536)
  pool.give(a)
  assert.equal(pool.pooled, 131_072)
  assert.equal(pool.take(70_000), a, 'a buffer of the same size class is reused')
  assert.equal(pool.created, 2)
  // Below MIN_BYTES a buffer of the size asked, never pooled.
  const small = pool.take(300)
  assert.equal(small.byteLength, 300)
  pool.give(small)
  assert.equal(pool.pooled, 0)
  // A detached buffer (transferred away again) has no bytes: never pooled.
  const moved = pool.take(MIN_BYTES)
  structuredClone(moved, { transfer: [moved] })
  pool.give(moved)
  assert.equal(pool.pooled, 0)
  // At most POOLED_BYTES are kept.
  const big = Array.from({ length: POOLED_BYTES / 4_194_304 + 2 }, () => pool.take(4_194_304))
  for (const b of big) pool.give(b)
  assert.equal(pool.pooled, POOLED_BYTES)
})

test('packed records read back as they were: runs in one buffer (gaps copied along), other buffers, out of order, far apart', () => {
  // One "fetch answer" with values separated by short gaps (record headers), one far away, one
  // before the previous, and values of their own buffers.
  const answer = Buffer.alloc(4_000)
  for (let i = 0; i < answer.length; i++) answer[i] = i % 251
  const views = [
    answer.subarray(10, 40),
    answer.subarray(45, 45), // empty (a tombstone)
    answer.subarray(50, 90),
    answer.subarray(3_000, 3_050), // past GAP: a new run
    answer.subarray(100, 120), // before the previous: a new run
    Buffer.from('{"a":1}'),
    new Uint8Array(Buffer.from('{"b":2}')),
    answer.subarray(121, 200),
  ]
  for (let rounds = 0; rounds < 50; rounds++) {
    const picked = views.filter(() => Math.random() < 0.7)
    const records = picked.map((value, i) => ({ offset: 1_000 + 3 * i, value }))
    const packed = packRecords(records, new BatchBuffers())
    assert.equal(packed.offsets.length, records.length)
    records.forEach(({ offset, value }, i) => {
      assert.equal(packed.offsets[i], offset)
      assert.deepEqual(
        Buffer.from(packed.values.subarray(packed.starts[i]!, packed.ends[i]!)),
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      )
    })
    assert.ok(packed.values.byteOffset + packed.values.byteLength <= packed.buffer.byteLength)
  }
})

test('a small batch goes in a buffer of about its size: a window keeps every batch it took until dropped, and one that cannot commit goes on taking them', () => {
  // A live stream's fetches bring a record or a few per partition; while the store refuses the
  // commits (retried after a backoff) the window's thread holds each batch's buffer. Rounded up
  // to one pooled 64 KiB buffer each, 1,000 batches of one ~100-byte record held 64 MiB.
  const pool = new BatchBuffers()
  let held = 0
  let needed = 0
  for (let i = 0; i < 1_000; i++) {
    const value = Buffer.from(JSON.stringify(pageView(i)))
    const packed = packRecords([{ offset: i, value }], pool)
    held += packed.buffer.byteLength
    needed += 16 + value.length
  }
  assert.ok(held <= 2 * needed, `${held} bytes held for ${needed} bytes of batches`)
  // From MIN_BYTES up: a power of two, at most twice what the batch needs.
  for (const bytes of [MIN_BYTES, MIN_BYTES + 1, 700_000, 1_048_576]) {
    const size = pool.take(bytes).byteLength
    assert.ok(size >= bytes && size < 2 * bytes, `${size} for ${bytes}`)
  }
})

// Records of ~800 bytes (a field no view reads): a batch of 100 needs a pooled buffer (128 KiB).
const values = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) =>
    Buffer.from(JSON.stringify({ ...pageView(from + i), note: 'x'.repeat(700) })),
  )

/** The same records folded in process: the reference. */
function inProcess(
  fixture: Awaited<ReturnType<typeof speedFixture>>,
  from: number,
  records: Buffer[],
  required: number[],
) {
  const read = recordReaderFor(fixture.views, 'ts')
  const window = new PendingWindow(fixture.views, read, from, from)
  records.forEach((value, i) => {
    const event = read(value, 0, value.length)
    assert.notEqual(typeof event, 'string')
    window.fold(from + i, event as never, value)
  })
  window.require(required)
  return window.contents()
}

test('windows folded in reused buffers answer what the same records answer in process, rebuilt after reuse too', async (t) => {
  const fixture = await speedFixture(t, 1)
  const thread = await oneFoldThread(t, fixture)
  let rebuilt = 0
  const open = (from: number) => new RemoteWindow(thread, fixture.views, from, from, 0, () => rebuilt++)
  const sendAll = (window: RemoteWindow, from: number, records: Buffer[], per: number) => {
    for (let at = 0; at < records.length; at += per) {
      const packed = packRecords(
        records.slice(at, at + per).map((value, i) => ({ offset: from + at + i, value })),
        thread.buffers,
      )
      for (let i = 0; i < packed.offsets.length; i++) window.take(packed, i)
      window.send()
    }
  }

  // Window A: three batches in three buffers, then dropped (committed): they come back.
  const a = open(0)
  const first = values(0, 300)
  sendAll(a, 0, first, 100)
  const aAnswer = await a.contents()
  assert.deepEqual(deltaList(aAnswer.deltas), deltaList(inProcess(fixture, 0, first, []).deltas))
  const created = thread.buffers.created
  assert.equal(created, 3)
  a.drop()

  // Window B, sent after A's drop (answered in order): its batches go in A's buffers again.
  const b = open(300)
  await b.answered()
  assert.equal(thread.buffers.pooled, 3 * 131_072, "A's buffers came back with its drop")
  const second = values(300, 300)
  sendAll(b, 300, second, 100)
  await b.answered()
  assert.equal(thread.buffers.created, created, 'no new buffer: every batch of B went in a reused one')

  // While B is held by the thread its buffers are not handed out again: window C needs new ones,
  // and C's bytes in them never reach B, whose rebuild (a boundary among its records) reads its own.
  const c = open(0)
  const third = values(5_000, 300)
  sendAll(c, 0, third, 100)
  await c.answered()
  assert.equal(thread.buffers.created, created + 3)
  assert.equal(b.require([450]), 'sealed')
  const bAnswer = await b.contents()
  assert.deepEqual(deltaList(bAnswer.deltas), deltaList(inProcess(fixture, 300, second, [450]).deltas))
  assert.equal(bAnswer.events, 300)
  assert.equal(rebuilt, 1, 'B was refolded from its kept records, in the reused buffers')
  const cAnswer = await c.contents()
  assert.deepEqual(deltaList(cAnswer.deltas), deltaList(inProcess(fixture, 0, third, []).deltas))

  // A dropped window is gone from the thread with its buffers: it can no longer be read.
  a.take(packRecords([{ offset: 300, value: first[0]! }], new BatchBuffers()), 0)
  await assert.rejects(a.contents(), /has no window/)
})

test('a boundary required between two records of one batch: the part taken goes in a copy, the rest in the batch buffer, and the window answers as in process', async (t) => {
  const fixture = await speedFixture(t, 1)
  const thread = await oneFoldThread(t, fixture)
  const window = new RemoteWindow(thread, fixture.views, 0, 0, 0, () => undefined)
  const records = values(0, 100)
  const packed = packRecords(
    records.map((value, offset) => ({ offset, value })),
    thread.buffers,
  )
  for (let i = 0; i < 50; i++) window.take(packed, i)
  assert.equal(window.require([20]), 'sealed')
  assert.equal(packed.buffer.byteLength > 0, true, 'the batch buffer stays here for the rest')
  for (let i = 50; i < 100; i++) window.take(packed, i)
  window.seal(100)
  const answer = await window.contents()
  assert.equal(packed.buffer.byteLength, 0, 'sent with the last record (transferred)')
  const reference = inProcess(fixture, 0, records, [20, 100])
  assert.deepEqual(deltaList(answer.deltas), deltaList(reference.deltas))
  assert.equal(answer.events, 100)
})

test('a commit refused for a boundary inside the window is rebuilt from its own buffers while another partition of the thread reuses the pool', async (t) => {
  const fixture = await speedFixture(t, 2)
  await fixture.store.registerSpeedViews(
    fixture.views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    2,
  )
  const thread = await oneFoldThread(t, fixture)
  // Every batch pooled, small as they are: partition 1's windows reuse each other's buffers.
  thread.buffers.smallest = 1
  const manual = {
    commitEveryMs: Number.POSITIVE_INFINITY,
    commitEveryRecords: Number.POSITIVE_INFINITY,
    sealEveryMs: Number.POSITIVE_INFINITY,
  }
  const claim = (partition: number) =>
    claimSpeedPartition({
      store: fixture.store,
      views: fixture.views,
      partition,
      partitions: 2,
      timeField: 'ts',
      policy: manual,
      thread,
    })
  const logs = [new MemoryPartition(), new MemoryPartition()]
  logs[0]!.append(Array.from({ length: 60 }, (_, i) => pageView(i)))
  const p0 = await claim(0)
  const p1 = await claim(1)
  // Partition 0's window takes 0..59 in six batches and is not committed yet.
  for (let from = 0; from < 60; from += 10) await p0.add(logs[0]!.read(from, 10))
  // Partition 1 commits window after window meanwhile: its dropped buffers are handed out again.
  for (let round = 0; round < 8; round++) {
    const from = logs[1]!.end
    logs[1]!.append(
      Array.from({ length: 10 }, (_, i) => pageView(1_000 + round * 10 + i)),
      round % 2 === 0,
    )
    await p1.add(logs[1]!.read(from))
    await p1.flush()
  }
  const created = thread.buffers.created
  // A batch run requires boundary 25 of partition 0, inside its window: the commit is refused,
  // the thread rebuilds the window from its kept records (in its own buffers) and it commits.
  assert.deepEqual(await fixture.store.alignHorizon([25, logs[1]!.end], [0, 0]), [25, logs[1]!.end])
  await p0.flush()
  assert.equal(p0.stopped, false)
  assert.equal(p0.stats().rebuilds, 1)
  assert.equal(p0.stats().retries, 1)
  const state = (await fixture.store.speedPartitions())[0]!
  assert.deepEqual([state.offset, state.epochs], [60, [0, 25]])
  await assertExact(
    fixture.store,
    fixture.views,
    logs.map((l) => l.records),
  )
  assert.ok(created < 8 + 6, `${created} buffers created for 14 batches: partition 1 reused its own`)
})

test('spans in a buffer the batch alone holds go to the thread in it, no copy (transferred), and answer as in process; a required boundary mid-batch sends that part in copies', async (t) => {
  const fixture = await speedFixture(t, 1)
  const thread = await oneFoldThread(t, fixture)
  const records = values(0, 100)
  const batch = (owned: boolean, parts = 1) =>
    withSpans(
      {
        records: records.map((value, offset) => ({ offset, timestamp: 0, key: null, value })),
        nextOffset: 100,
      },
      parts,
      owned,
    )

  // Not owned, or in several parts: copied into a buffer of the pool, as before.
  const created = thread.buffers.created
  const copied = takeSpans(batch(false).spans!, thread.buffers)
  assert.notEqual(copied.buffer, batch(false).spans!.parts[0]!.buffer)
  assert.equal(thread.buffers.created, created + 1)
  assert.notEqual(takeSpans(batch(true, 2).spans!, thread.buffers).buffer, undefined)
  assert.equal(thread.buffers.created, created + 2, 'two parts: copied, owned or not')

  // Owned, one part: taken as it is.
  const whole = batch(true)
  const spans = whole.spans!
  const taken = takeSpans(spans, thread.buffers)
  assert.equal(taken.buffer, spans.owned, 'the batch own buffer, not a copy')
  assert.equal(taken.values, spans.parts[0])
  assert.equal(thread.buffers.created, created + 2, 'no buffer of the pool')
  const window = new RemoteWindow(thread, fixture.views, 0, 0, 0, () => undefined)
  window.takeRun(taken, 0, 100)
  window.seal(100)
  const answer = await window.contents()
  assert.equal(spans.owned!.byteLength, 0, 'transferred to the thread with the batch')
  assert.throws(() => whole.records, /handed on/, 'the records cannot be read from a buffer handed on')
  assert.deepEqual(deltaList(answer.deltas), deltaList((await inProcess(fixture, 0, records, [100])).deltas))
  assert.equal(answer.events, 100)

  // A boundary required mid-batch: the part before goes in copies, the rest in the owned buffer.
  const split = takeSpans(batch(true).spans!, thread.buffers)
  const second = new RemoteWindow(thread, fixture.views, 0, 0, 0, () => undefined)
  for (let i = 0; i < 50; i++) second.take(split, i)
  assert.equal(second.require([20]), 'sealed')
  assert.equal(split.buffer.byteLength > 0, true, 'the owned buffer stays here for the rest')
  second.takeRun(split, 50, 100)
  second.seal(100)
  const splitAnswer = await second.contents()
  assert.equal(split.buffer.byteLength, 0, 'sent with the last record (transferred)')
  assert.deepEqual(
    deltaList(splitAnswer.deltas),
    deltaList((await inProcess(fixture, 0, records, [20, 100])).deltas),
  )
  window.drop()
  second.drop()
})
