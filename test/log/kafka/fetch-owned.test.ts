// A Fetch answer parsed for the speed layer's fold threads (fetcher.ts parseFetchResponseOwned):
// each partition's record set in a buffer of its own, whether it spanned several of the
// connection's chunks or lay inside one, so that its spans may hand that buffer on whole
// (RecordSpans.owned) and the batch's records then refuse to be read rather than read nothing.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  ownedParser,
  parseFetchResponse,
  parseFetchResponseOwned,
  type RawFetchResponse,
  spannedBatch,
} from '../../../src/log/kafka/fetcher.ts'
import { chunked, fetchAnswer } from './fetch-answer.ts'
import { batchBytes } from './record-batches.ts'

const values = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ url: `/p/${i}`, ts: i }))
const sets = [batchBytes({ base: 0, values: values(40) }), batchBytes({ base: 0, values: values(3) })]
const answer = fetchAnswer(sets)

function partitions(response: RawFetchResponse) {
  return response.responses[0]!.partitions
}

test('owned: every record set in a buffer of its own, the same bytes, across chunks or inside one', () => {
  // Chunks far larger than the second record set (it lies inside one), smaller than the first.
  for (const size of [64, 700, answer.length]) {
    const owned = partitions(parseFetchResponseOwned(0, 1, 17, chunked(answer, size)))
    const plain = partitions(parseFetchResponse(0, 1, 17, chunked(answer, size)))
    for (const i of [0, 1]) {
      const records = owned[i]!.records
      assert.deepEqual(records, sets[i], `chunks of ${size}: partition ${i}'s bytes`)
      assert.deepEqual(plain[i]!.records, sets[i])
      assert.equal(records.byteOffset, 0)
      assert.equal(records.byteLength, records.buffer.byteLength, `chunks of ${size}: its own buffer`)
    }
    if (size === answer.length) {
      // One chunk: the plain parse gives a view of it (not to be handed on), the owned one a copy.
      assert.notEqual(plain[1]!.records.byteLength, plain[1]!.records.buffer.byteLength)
    }
  }
})

test('spans of an owned record set say so; once its buffer is handed on the records refuse to be read', () => {
  const parsed = partitions(parseFetchResponseOwned(0, 1, 17, chunked(answer, 64)))
  const batch = spannedBatch('t', parsed[0]!, 0)
  const spans = batch.spans!
  assert.equal(spans.count, 40)
  assert.equal(spans.owned, parsed[0]!.records.buffer, 'the one part lies in the record set own buffer')
  assert.equal(spans.parts.length, 1)
  for (let i = 0; i < 40; i++)
    assert.equal(
      Buffer.from(spans.parts[0]!.subarray(spans.starts[i], spans.ends[i])).toString(),
      values(40)[i],
    )
  structuredClone(spans.owned, { transfer: [spans.owned!] })
  assert.throws(() => batch.records, /handed on/)

  // Not owned (a view of the connection's one chunk): never handed on, the records still read.
  const plain = partitions(parseFetchResponse(0, 1, 17, chunked(answer, answer.length)))
  const viewed = spannedBatch('t', plain[1]!, 0)
  assert.equal(viewed.spans!.owned, undefined)
  assert.equal(viewed.records.length, 3)
  // Owned and read before any hand-over: the records decode as usual.
  const early = spannedBatch('t', partitions(parseFetchResponseOwned(0, 1, 17, chunked(answer, 700)))[1]!, 0)
  assert.equal(early.spans!.owned !== undefined, true)
  assert.deepEqual(
    early.records.map((r) => r.value.toString()),
    values(3),
  )
  // Read before and handed on after: still refused (the records decoded would read as empty values).
  structuredClone(early.spans!.owned, { transfer: [early.spans!.owned!] })
  assert.throws(() => early.records, /handed on/)
})

test('owned into buffers handed out (the speed layer reuses its batch buffers): the record set at the start of its own, larger buffer, its spans hand it on', () => {
  const asked: Array<[number, number]> = []
  const given: ArrayBuffer[] = []
  const parse = ownedParser((partition, bytes) => {
    asked.push([partition, bytes])
    const buffer = new ArrayBuffer(2 ** Math.ceil(Math.log2(bytes)))
    new Uint8Array(buffer).fill(0xee) // what an earlier batch left there
    given.push(buffer)
    return buffer
  })
  const parsed = partitions(parse(0, 1, 17, chunked(answer, 300)))
  assert.deepEqual(asked, [
    [0, sets[0]!.length],
    [1, sets[1]!.length],
  ])
  for (const i of [0, 1]) {
    assert.equal(parsed[i]!.records.buffer, given[i], 'in the buffer handed out')
    assert.equal(parsed[i]!.records.byteOffset, 0)
    assert.deepEqual(parsed[i]!.records, sets[i], 'the same bytes, none of the old ones')
    const batch = spannedBatch('t', parsed[i]!, 0)
    assert.equal(batch.spans!.owned, given[i])
    assert.deepEqual(
      batch.records.map((r) => r.value.toString()),
      values(i === 0 ? 40 : 3),
    )
  }
  // A buffer too small is refused, not overrun.
  const small = ownedParser(() => new ArrayBuffer(8))
  assert.throws(() => small(0, 1, 17, chunked(answer, 300)), /a buffer of 8 bytes/)
})
