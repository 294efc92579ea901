import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
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
