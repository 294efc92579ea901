// A pass whose combine throws puts back every row it wrote (compactLog's undo: the last group
// reached and the rows that existed, by group). Checked on the rows' bytes, not their decoded
// values: a restored row must be the one a query or the next pass reads, byte for byte. Object
// states (floats, strings, arrays), keys that are prefixes of others, non-ASCII ones and one of
// 900 characters, 40 partitions (two-character `at` texts), a pass of several nested transactions
// with new rows between the existing ones, and the throw at the first group, a middle one and the
// last existing one (so new rows were written before it and must be removed, not left).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { CHILD_GROUPS, compactLog } from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'

type State = { n: number; f: number; s: string; l: unknown[] }
const add = (_view: string, a: unknown, b: unknown) => {
  const [x, y] = [a as State, b as State]
  return { n: x.n + y.n, f: x.f + y.f, s: `${x.s}+${y.s}`, l: [...x.l, ...y.l] }
}
const stateOf = (n: number): State => ({ n, f: n / 3, s: `é${n}`, l: [n, -0.5, 'x'] })
const PARTITIONS = 40
/** Folded once on the even partitions first: the rows that exist when the failing pass runs. */
const EXISTING = ['/a', '/a/b', '/a/b/c', 'é', 'é\u{1F600}', 'x'.repeat(900)]
/** Only in the failing pass: new rows, sorted between the existing ones ('/k…' < 'x…' < 'é'). */
const KEYS = [...EXISTING, ...Array.from({ length: 50 }, (_, i) => `/k${i}`)]
const COMBINES = (PARTITIONS / 2) * EXISTING.length * 2

for (const [where, at] of [
  ['the first group', 0],
  ['a middle group', COMBINES / 2],
  ['the last existing row', COMBINES - 1],
] as const) {
  test(`a combine that throws at ${where} leaves every row byte for byte as it was`, async (t) => {
    const defer = deferrer(t)
    const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
    defer(() => rmSync(dir, { recursive: true, force: true }))
    const store = await openLmdbStore(dir, { compactor: { auto: false } })
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], PARTITIONS)
    for (let p = 0; p < PARTITIONS; p++) await store.claimPartition(p, 0)
    const offsets = new Array<number>(PARTITIONS).fill(0)
    const commit = async (p: number, keys: string[]) => {
      const from = offsets[p]
      offsets[p] += 1 + keys.length
      const deltas = keys.flatMap((key, k) =>
        [0, 1].map((window) => ({ view: 'hits', epoch: 0, key, window, state: stateOf(k + p + window) })),
      )
      await store.commitSpeed(
        { partition: p, owner: 1, hashes: { hits: 'h1' }, seals: [], from, offset: offsets[p], deltas },
        add,
      )
    }
    for (let p = 0; p < PARTITIONS; p += 2) await commit(p, EXISTING)
    await store.compactSpeed(add)
    for (let p = 0; p < PARTITIONS; p++) await commit(p, KEYS)
    await store.close()

    const db = open<unknown, (string | number)[]>({
      path: dir,
      compression: false,
      encoder: new ChecksummedValues(),
    })
    const bytes = open<Uint8Array, (string | number)[]>({
      path: dir,
      compression: false,
      encoding: 'binary',
    })
    defer(() => {
      db.close()
      bytes.close()
    })
    // Every row but the view codes (a failed pass may keep the code it handed out).
    const dump = () => {
      bytes.resetReadTxn()
      const rows: string[] = []
      for (const { key, value } of bytes.getRange({})) {
        if (key[0] !== 'vc' && key[0] !== 'vn')
          rows.push(`${JSON.stringify(key)} ${Buffer.from(value).toString('hex')}`)
      }
      return rows
    }
    const before = dump()
    let calls = 0
    const combineFor = () => (view: string, a: unknown, b: unknown) => {
      if (calls++ === at) throw new Error('combine failed')
      return add(view, a, b)
    }
    // Several nested transactions, or the later groups would not be in a later one.
    assert.ok(PARTITIONS * KEYS.length * 2 > 4 * CHILD_GROUPS)
    await assert.rejects(compactLog(db as never, combineFor, Number.MAX_SAFE_INTEGER), /combine failed/)
    assert.equal(calls, at + 1, 'the pass reached the combine that throws')
    assert.deepEqual(dump(), before)
  })
}
