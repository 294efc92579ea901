// The snapshot memo (src/store/lmdb-snapshot-memo.ts) against a fresh read, over interleaved
// writes: flips (from this handle and another, new batch entries and a moved horizon), speed
// commits with seals, compaction passes (which name keys: the memo keeps those keys' batch
// entries), epoch collections, horizon alignments, and queries of this handle in between. Each
// query must answer what a memo filled just now answers: a batch entry or state row kept past a
// write that changed it fails here.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { SnapshotMemo } from '../../src/store/lmdb-snapshot-memo.ts'
import { snapshot } from '../../src/store/lmdb-speed.ts'
import { LogCache } from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store, ViewSnapshot } from '../../src/store/store.ts'

const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
const KEYS = ['/a', '/b', '/c']

/** A small seeded generator (mulberry32): the same interleaving every run. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}

/** What a query reads, in a form to compare (the memo's arrays and a fresh read's). */
function rows(s: ViewSnapshot): unknown {
  return {
    batch: s.batch?.version,
    horizon: s.batch?.horizon,
    entries: s.batchEntries.map((e) => [e.window, e.state]),
    realtime: s.realtime.map((r) => [r.partition, r.epoch, r.window, r.state]),
  }
}

for (const seed of [1, 2, 3]) {
  test(`interleaved flips, commits, passes, collections and queries answer as a fresh read (seed ${seed})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-memo-mix-'))
    const store = await openLmdbStore(dir, { compactor: { auto: false } })
    const other = await openLmdbStore(dir, { compactor: { auto: false } })
    const raw = open<unknown, (string | number | boolean)[]>({
      path: dir,
      compression: false,
      encoder: new ChecksummedValues(),
    })
    t.after(async () => {
      await other.close()
      await store.close()
      await raw.close()
      rmSync(dir, { recursive: true, force: true })
    })
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    await store.claimPartition(0, 0)
    const next = random(seed)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T
    let offset = 0
    let epochs = [0]
    let horizon = 0
    let flips = 0
    let passes = 0
    let asked = 0
    let otherWrote = false
    for (let step = 0; step < 400; step++) {
      const writer: Store = next() < 0.5 ? store : other
      const what = next()
      if (what < 0.65 && writer === other) otherWrote = true
      if (what < 0.1) {
        // A flip: every key a new batch entry (or none), the horizon at a sealed epoch.
        horizon = pick(epochs.filter((e) => e >= horizon))
        const stage = await writer.stageBatch('hits')
        const entries = KEYS.filter(() => next() < 0.8).map((key) => ({
          key,
          window: 0,
          state: 1000 + step,
        }))
        await stage.put(entries)
        await stage.commit({
          codeHash: 'h1',
          horizon: [horizon],
          events: step,
          groups: entries.length,
          startedAt: 0,
          completedAt: Date.now() + step,
        })
        flips++
      } else if (what < 0.45) {
        const seal = next() < 0.2 ? [offset + 1] : []
        const epoch = epochs[epochs.length - 1] as number
        await writer.commitSpeed(
          {
            partition: 0,
            owner: 1,
            from: offset,
            offset: offset + 1,
            hashes: { hits: 'h1' },
            deltas: [{ view: 'hits', epoch, key: pick(KEYS), window: pick([0, 1]), state: 1 + step }],
            seals: seal,
          },
          add,
        )
        offset++
        if (seal.length > 0) epochs = [...epochs, offset]
      } else if (what < 0.6) {
        passes += (await writer.compactSpeed(add)) > 0 ? 1 : 0
      } else if (what < 0.65) {
        await writer.collectEpochs([])
        epochs = epochs.filter((e) => e >= horizon)
      } else {
        // Another handle's writes are seen from the next event-loop turn (lmdb-js renews then).
        if (otherWrote) await sleep(1)
        otherWrote = false
        const key = pick(KEYS)
        const served = await store.snapshot('hits', key)
        raw.resetReadTxn() // the fresh read in the latest snapshot, whatever the turn
        const fresh = snapshot(raw as never, new LogCache(), new SnapshotMemo(raw as never), 'hits', key, {})
        assert.deepEqual(rows(served), rows(fresh), `step ${step}, ${key}`)
        asked++
      }
    }
    assert.ok(flips > 10 && passes > 10 && asked > 50, `${flips} flips, ${passes} passes, ${asked} asks`)
  })
}
