// A Fetch answer as a broker sends it and as a connection holds it (in chunks), for the tests of
// what parses it (fetcher.ts) and of what reads the record sets it brings (the speed layer).
import { Reader } from '@platformatic/kafka'

const TOPIC_ID = '00000000-0000-4000-8000-000000000001'

function uvarint(n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

/** A Fetch v17 answer: one topic, partition i with record set i. */
export function fetchAnswer(recordSets: Buffer[]): Buffer {
  const parts: Buffer[] = []
  const int = (bytes: number, v: number | bigint) => {
    const b = Buffer.alloc(bytes)
    if (bytes === 2) b.writeInt16BE(Number(v))
    else if (bytes === 4) b.writeInt32BE(Number(v))
    else b.writeBigInt64BE(BigInt(v))
    parts.push(b)
  }
  int(4, 0) // throttle
  int(2, 0) // error
  int(4, 0) // session
  parts.push(Buffer.from(uvarint(2))) // one topic
  parts.push(Buffer.from(TOPIC_ID.replaceAll('-', ''), 'hex'))
  parts.push(Buffer.from(uvarint(recordSets.length + 1)))
  recordSets.forEach((records, i) => {
    int(4, i) // partition
    int(2, 0)
    int(8, 100) // high watermark
    int(8, 100) // last stable
    int(8, 0) // log start
    parts.push(Buffer.from([0])) // aborted: null
    int(4, -1) // preferred replica
    parts.push(Buffer.from(uvarint(records.length + 1)), records)
    parts.push(Buffer.from([0])) // tagged fields
  })
  parts.push(Buffer.from([0])) // the topic's tagged fields
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}

/** The answer as a connection holds it: in chunks of `size` bytes. */
export function chunked(bytes: Buffer, size: number): Reader {
  return readerOf(chunksOf(bytes, size))
}

/** `bytes` cut in chunks of `size` bytes, each a copy (as a socket hands them over). */
export function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(Buffer.from(bytes.subarray(at, at + size)))
  return chunks
}

/** A Reader over `chunks` as one answer (a bench reads the same chunks again without copying them). */
export function readerOf(chunks: Buffer[]): Reader {
  // platformatic's DynamicBuffer (a dependency of its own, not ours), reached through a Reader.
  const buffer = Reader.from(chunks[0]!).buffer
  for (const chunk of chunks.slice(1)) buffer.append(chunk)
  return new Reader(buffer)
}
