// The embedded store's value checksum alone (lmdb-checksum.ts, decision 0019): ns per value of
// CRC-32 over MessagePack bytes of the store's shapes (a speed state row, a batch row of a key's
// 24 windows), Node's zlib.crc32 against the store's own valueCrc32 and @node-rs/crc32 (already a dependency), and the encoder's
// encode and decode against lmdb-js's plain MessagePack. No LMDB, no I/O: what a read or a write
// pays on the CPU for its check. Median of --rounds rounds of --n values each.
//
//   node bench/value-checksum-micro.ts [--n=1000000] [--rounds=5]
import './lib/help.ts' // --help: the comment above, then exit
import { crc32 as zlibCrc32 } from 'node:zlib'
import { crc32 as rsCrc32 } from '@node-rs/crc32'
import { Packr } from 'msgpackr'
import { ChecksummedValues, valueCrc32 } from '../src/store/lmdb-checksum.ts'
import { arg } from './lib/stats.ts'

const n = arg('n', 1_000_000)
const rounds = arg('rounds', 5)
const shapes: Record<string, unknown> = {
  'speed state row (a count)': 107_344,
  'batch row (24 windows, 24 counts)': [
    Array.from({ length: 24 }, (_, i) => 1_765_000_000_000 + i * 3_600_000),
    Array.from({ length: 24 }, (_, i) => 100 + i * 7),
  ],
}
const plain = new Packr({ copyBuffers: true })
const checked = new ChecksummedValues()
checked.legacy = false

function time(run: () => void): number {
  const ns: number[] = []
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint()
    run()
    ns.push(Number(process.hrtime.bigint() - start) / n)
  }
  return ns.sort((a, b) => a - b)[Math.floor(ns.length / 2)]!
}

let sink = 0
for (const [name, value] of Object.entries(shapes)) {
  const packed = plain.pack(value)
  const stored = checked.encode(value)
  const rows = {
    'zlib.crc32': time(() => {
      for (let i = 0; i < n; i++) sink ^= zlibCrc32(packed)
    }),
    'valueCrc32 (table loop up to 64 bytes, else zlib)': time(() => {
      for (let i = 0; i < n; i++) sink ^= valueCrc32(packed, 0, packed.length)
    }),
    '@node-rs/crc32': time(() => {
      for (let i = 0; i < n; i++) sink ^= rsCrc32(packed)
    }),
    'encode, plain MessagePack': time(() => {
      for (let i = 0; i < n; i++) sink ^= plain.pack(value).length
    }),
    'encode, checksummed': time(() => {
      for (let i = 0; i < n; i++) sink ^= checked.encode(value).length
    }),
    'decode, plain MessagePack': time(() => {
      for (let i = 0; i < n; i++) sink ^= plain.unpack(packed) === undefined ? 1 : 0
    }),
    'decode, checksummed': time(() => {
      for (let i = 0; i < n; i++) sink ^= checked.decode(stored) === undefined ? 1 : 0
    }),
  }
  console.log(`${name}: ${packed.length} bytes of MessagePack`)
  for (const [what, ns] of Object.entries(rows)) console.log(`  ${what}: ${ns.toFixed(0)} ns`)
}
if (sink === 0.5) console.log(sink)
