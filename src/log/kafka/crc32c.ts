// CRC-32C of a record batch, as Kafka's consumer checks it (check.crcs, on by default in Java).
// @node-rs/crc32 is native (SSE4.2 / ARMv8 CRC instructions): a batch costs a few ns per hundred
// bytes. Where its binary cannot load, platformatic's WebAssembly one is used; both take the
// Buffer as is (platformatic's own wrapper copies it into a new Uint8Array first).
import { createRequire } from 'node:module'
import { crc32c as portable } from '@platformatic/kafka'

type Crc32c = (bytes: Uint8Array) => number

function load(): Crc32c {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: Crc32c }
    native.crc32c(new Uint8Array(1))
    return (bytes) => native.crc32c(bytes) >>> 0
  } catch {
    return (bytes) => portable(bytes as Buffer) >>> 0
  }
}

export const crc32c: Crc32c = load()
