// A compaction pass writes each group under its state row key's `at` (partition and epoch in base
// 36, made once per log row's epoch by the pass, not by stateKey per group) and sorts a key's
// groups by window, then that text. Partitions from 36 on have a two-character `at` that sorts
// before shorter ones ('10:0' < '2:0'): the rows must be the ones stateKey names, and the answer
// the same as read from the log before the pass.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { groupAtText, stateKey, viewCode } from '../../src/store/lmdb-state-keys.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'

type Key = (string | number | boolean)[]
const PARTITIONS = 40

test('a pass writes each group under the state row key stateKey names, and answers as the log did', async (t) => {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], PARTITIONS)
  for (let p = 0; p < PARTITIONS; p++) await store.claimPartition(p, 0)
  // Two commits a partition, each touching windows 2, 0 and 1 of /k (out of order) and /j: the
  // pass combines each group's two deltas and sorts /k's 3 × 40 groups.
  for (let round = 0; round < 2; round++) {
    for (let p = PARTITIONS - 1; p >= 0; p--) {
      const deltas = [2, 0, 1].map((window) => ({
        view: 'hits',
        epoch: 0,
        key: '/k',
        window,
        state: p + window,
      }))
      deltas.push({ view: 'hits', epoch: 0, key: '/j', window: 0, state: 1 })
      await store.commitSpeed(
        { partition: p, owner: 1, hashes: { hits: 'h1' }, seals: [], from: round, offset: round + 1, deltas },
        add,
      )
    }
  }
  // Per group, the sum of what a query reads: from the log, one entry a delta; folded, one a row.
  const answer = async (key: string) => {
    const sums = new Map<string, number>()
    for (const r of (await store.snapshot('hits', key)).realtime) {
      const group = `${r.partition}/${r.epoch}/${r.window}`
      sums.set(group, (sums.get(group) ?? 0) + (r.state as number))
    }
    return [...sums].sort()
  }
  const fromLog = { k: await answer('/k'), j: await answer('/j') }
  assert.equal(fromLog.k.length, PARTITIONS * 3)
  assert.equal(await store.compactSpeed(add), PARTITIONS * 2)
  assert.deepEqual({ k: await answer('/k'), j: await answer('/j') }, fromLog)
  await store.close()

  // The rows themselves: one per group, under stateKey's key, each holding both commits' deltas.
  const db = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => db.close())
  const code = viewCode(db, 'hits') as string
  const rows = [...db.getRange({ start: ['rs', code, '/k'], end: ['rs', code, '/k', '\uffff'] })]
  assert.equal(rows.length, PARTITIONS * 3)
  const expected = new Map<string, number>()
  for (let p = 0; p < PARTITIONS; p++)
    for (const window of [0, 1, 2])
      expected.set(JSON.stringify(stateKey(code, '/k', window, p, 0)), 2 * (p + window))
  for (const { key, value } of rows)
    assert.equal(expected.get(JSON.stringify(key)), value, JSON.stringify(key))
  assert.equal(groupAtText(36, 0), '10:0')
  assert.equal(db.get(stateKey(code, '/k', 1, 36, 0)), 2 * 37)
})
