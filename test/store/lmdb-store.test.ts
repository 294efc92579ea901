import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { speedContract } from './speed-contract.ts'
import { type OpenStore, storeContract } from './store-contract.ts'

const openStore: OpenStore = async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  let current: Store = await openLmdbStore(dir)
  t.after(async () => {
    await current.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    store: current,
    reopen: async () => {
      await current.close()
      current = await openLmdbStore(dir)
      return current
    },
  }
}

storeContract(test, openStore)
speedContract(test, openStore)

// Regression: opening the store dropped every staged version, including one that another live
// process sharing the folder (`strata batch` beside `strata start`) was still writing.
test('a version staged by another live process survives an open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const writer = await openLmdbStore(dir)
  const stage = await writer.stageBatch('v')
  await stage.put([{ key: 'k', window: 0, state: 1 }])
  // Mark the stage as owned by a live process other than this one: our parent.
  const raw = open<unknown, (string | number)[]>({ path: dir, compression: false })
  await raw.put(['staged', 'v', stage.version], process.ppid)
  const other = await openLmdbStore(dir)
  const served = await stage.commit({
    codeHash: 'h',
    horizon: [1],
    events: 1,
    groups: 1,
    startedAt: 0,
    completedAt: 1,
  })
  assert.deepEqual(
    (await other.readBatch('v', served.version, 'k')).map((e) => e.state),
    [1],
  )
  await other.close()
  await writer.close()
  await raw.close()
})
