// Child process of lmdb-compaction-kill.test.ts: logs deltas for every key twice (the first
// folded), then starts a pass that spans several nested transactions and stops for good in the
// third one (after two were merged into the pass), saying so on stdout, to be killed there.
import { writeSync } from 'node:fs'
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { CHILD_GROUPS, compactLog } from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'

const dir = process.argv[2]
const n = Number(process.argv[3])
const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
const store = await openLmdbStore(dir, { compactor: { auto: false } })
await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
await store.claimPartition(0, 0)
const deltas = (state: number) =>
  Array.from({ length: n }, (_, i) => ({ view: 'hits', epoch: 0, key: `/k${i}`, window: 0, state }))
const commit = (from: number, state: number) =>
  store.commitSpeed(
    {
      partition: 0,
      owner: 1,
      hashes: { hits: 'h1' },
      seals: [],
      from,
      offset: from + 1,
      deltas: deltas(state),
    },
    add,
  )
await commit(0, 1)
await store.compactSpeed(add)
await commit(1, 2)
const raw = open<unknown, (string | number)[]>({
  path: dir,
  compression: false,
  encoder: new ChecksummedValues(),
})
let children = 0
let calls = 0
const counted = new Proxy(raw, {
  get(target, property) {
    const value = Reflect.get(target, property)
    if (property !== 'childTransaction') return typeof value === 'function' ? value.bind(target) : value
    return (callback: () => unknown) => {
      children++
      return target.childTransaction(callback)
    }
  },
})
const stall = new Int32Array(new SharedArrayBuffer(4))
await compactLog(
  counted as never,
  () => (view, a, b) => {
    if (children === 3 && ++calls === CHILD_GROUPS / 2) {
      writeSync(1, 'mid-pass\n')
      Atomics.wait(stall, 0, 0)
    }
    return add(view, a, b)
  },
  1_000_000,
)
writeSync(1, 'pass ended\n')
