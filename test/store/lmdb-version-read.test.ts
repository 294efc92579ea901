// store.snapshotVersion reads the ['snapshot'] row again only when lmdb-js renews the read
// snapshot (src/store/lmdb-version-read.ts). The query fast path sends a kept body while it returns
// the version the body was read under, so these fail if it ever returns a version a get would not:
// after a commit of this handle (at once), of another handle in this process and of another
// process (at the snapshot's next renewal, as a get); inside a write transaction of this handle
// (where a get reads that transaction); and on an lmdb-js that stops telling its renewals.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ABORT, open, type RootDatabase } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { SNAPSHOT_VERSION } from '../../src/store/lmdb-snapshot-version.ts'
import { LMDB_OPEN_OPTIONS, openLmdbStore } from '../../src/store/lmdb-store.ts'
import { snapshotVersionReader } from '../../src/store/lmdb-version-read.ts'
import type { SpeedCommit, Store } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)

function commit(from: number, offset: number, state: number): SpeedCommit {
  return {
    partition: 0,
    owner: 1,
    from,
    offset,
    hashes: { hits: 'h1' },
    deltas: [{ view: 'hits', epoch: 0, key: '/a', window: 0, state }],
    seals: [],
  }
}

async function openStore(t: TestContext): Promise<{ store: Store; dir: string }> {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-version-'))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  return { store, dir }
}

/** The version a read of its own sees: a read transaction begun now. */
async function fresh(store: Store, key = '/a'): Promise<number | undefined> {
  return (await store.snapshot('hits', key)).version
}

test("this handle's commit moves the version at once", async (t) => {
  const { store } = await openStore(t)
  const before = store.snapshotVersion?.()
  assert.equal(typeof before, 'number')
  assert.equal(store.snapshotVersion?.(), before)
  await store.commitSpeed(commit(0, 1, 1), add)
  const after = store.snapshotVersion?.()
  assert.notEqual(after, before)
  assert.equal(after, await fresh(store))
  await store.compactSpeed(add)
  assert.notEqual(store.snapshotVersion?.(), after)
  assert.equal(store.snapshotVersion?.(), await fresh(store, '/b'))
})

test("another handle's commit is seen once the read snapshot is renewed, as a get sees it", async (t) => {
  const defer = deferrer(t)
  const { store, dir } = await openStore(t)
  const other = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => other.close())
  const before = store.snapshotVersion?.()
  await other.commitSpeed(commit(0, 1, 1), add)
  await sleep(5) // lmdb-js renews its read snapshot on a later turn (a timer of ≥ 1 ms)
  const after = store.snapshotVersion?.()
  assert.notEqual(after, before)
  assert.equal(after, other.snapshotVersion?.())
  assert.equal(store.snapshotVersion?.(), after)
})

test("another process's commit and pass are seen on the next turn", async (t) => {
  const { store, dir } = await openStore(t)
  await store.commitSpeed(commit(0, 1, 1), add)
  const before = store.snapshotVersion?.()
  assert.equal(before, await fresh(store))
  // A speed worker in another process beside this `worker serve`.
  const child = `
    const { openLmdbStore } = await import(${JSON.stringify(new URL('../../src/store/lmdb-store.ts', import.meta.url).href)})
    const add = (_v, a, b) => a + b
    const store = await openLmdbStore(${JSON.stringify(dir)}, { compactor: { auto: false } })
    await store.commitSpeed({ partition: 0, owner: 1, from: 1, offset: 2, hashes: { hits: 'h1' },
      deltas: [{ view: 'hits', epoch: 0, key: '/a', window: 0, state: 5 }], seals: [] }, add)
    console.log(store.snapshotVersion())
    await store.close()
  `
  const written = Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' }).trim(),
  )
  await sleep(5)
  assert.equal(store.snapshotVersion?.(), written)
  assert.equal(await fresh(store), written)
})

/** A bare LMDB handle as the store opens it, its version row at 7. */
async function openDb(t: TestContext): Promise<RootDatabase<unknown, (string | number | boolean)[]>> {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-version-'))
  const db = open<unknown, (string | number | boolean)[]>({
    path: dir,
    ...LMDB_OPEN_OPTIONS,
    encoder: new ChecksummedValues(),
  })
  defer(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await db.put(SNAPSHOT_VERSION, 7)
  return db
}

test('the row is read again only when the snapshot is renewed', async (t) => {
  const db = await openDb(t)
  let gets = 0
  const get = db.get.bind(db)
  db.get = (key) => {
    gets++
    return get(key)
  }
  const version = snapshotVersionReader(db)
  assert.equal(version(), 7)
  assert.equal(version(), 7)
  assert.equal(gets, 1)
  await db.put(SNAPSHOT_VERSION, 8) // this handle's commit resets its snapshot
  assert.equal(version(), 8)
  assert.equal(gets, 2)
  await sleep(5)
  assert.equal(version(), 8)
  assert.equal(gets, 3) // a renewed snapshot: read again
})

test("inside a write transaction of this handle the version is the transaction's, and an aborted one leaves nothing held", async (t) => {
  const db = await openDb(t)
  const version = snapshotVersionReader(db)
  assert.equal(version(), 7)
  // A get there reads the write transaction, which no read snapshot renewal announces.
  const inside = await db.transaction(() => {
    db.put(SNAPSHOT_VERSION, 8)
    return version()
  })
  assert.equal(inside, 8)
  assert.equal(version(), 8)
  db.transactionSync(() => {
    db.put(SNAPSHOT_VERSION, 99)
    assert.equal(version(), 99)
    return ABORT
  })
  // Never committed: what a get finds now, not the aborted transaction's value.
  assert.equal(db.get(SNAPSHOT_VERSION), 8)
  assert.equal(version(), 8)
})

test('an lmdb-js that renews its read snapshot without telling is read with a get per call', async (t) => {
  const db = await openDb(t)
  // 'begin-transaction' is not in lmdb-js's typings or README: a release may stop emitting it.
  const emitter = db as unknown as EventEmitter
  const emit = emitter.emit.bind(emitter)
  emitter.emit = (event, ...args) => event !== 'begin-transaction' && emit(event, ...args)
  const version = snapshotVersionReader(db)
  assert.equal(version(), 7)
  await db.put(SNAPSHOT_VERSION, 8) // this handle's commit resets its snapshot, untold
  assert.equal(version(), 8)
  await sleep(5)
  assert.equal(version(), 8)
})
