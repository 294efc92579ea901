// A full disk under the embedded store: lmdb-js fails the commit with "Commit failed (see
// commitError for details)" and LMDB's ENOSPC (errno 28) in commitError. That reached the speed
// layer as "partition N: speed commit failed [STRATA_ERR_STORE]", and /health and the log said
// nothing of a disk (found from the user's seat by s13-user, on a 3 MiB tmpfs).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, isStrataError } from '../../src/core/errors.ts'
import { guardLmdbStore } from '../../src/store/lmdb-guard.ts'
import type { Store } from '../../src/store/store.ts'

// lmdb-js's failed asynchronous commit, as lmdb 3 builds it (write.js, rejectCommit).
function failedCommit(cause: Error): Error {
  const pending = Promise.reject(cause)
  pending.catch(() => {})
  return Object.assign(new Error('Commit failed (see commitError for details)'), { commitError: pending })
}

function fakeStore(fail: () => unknown): Store {
  return { commitSpeed: async () => Promise.reject(fail()), close: async () => {} } as unknown as Store
}

const noSpace = () =>
  Object.assign(
    new Error('No space left on device: Attempting to write page at position 1044480, size 4096'),
    {
      code: 28,
    },
  )

test('a commit that fails for want of disk room is STRATA_ERR_DISK_FULL naming the store, not corruption', async () => {
  let corrupt: Error | undefined
  const store = guardLmdbStore(
    fakeStore(() => failedCommit(noSpace())),
    '/srv/strata/store',
    (e) => (corrupt = e),
  )
  const error = await (store as unknown as { commitSpeed(): Promise<void> }).commitSpeed().then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(isStrataError(error), `expected a StrataError, got ${String(error)}`)
  assert.equal(error.code, ErrorCodes.DISK_FULL)
  // Not retriable: the store-outage ride-out would hide the stuck commits from /health for 60 s.
  assert.equal(error.retriable, false)
  assert.match(error.message, /no room on disk/)
  assert.match(error.message, /\/srv\/strata\/store/)
  assert.equal(corrupt, undefined, 'a full disk does not stop the process as damage does')
})

test('ENOSPC thrown at once (a synchronous write) is STRATA_ERR_DISK_FULL too; other errors pass as they are', async () => {
  const sync = {
    put: () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    },
    close: async () => {},
  }
  const guarded = guardLmdbStore(sync as unknown as Store, '/srv/strata/store') as unknown as { put(): void }
  assert.throws(
    () => guarded.put(),
    (e: unknown) => isStrataError(e) && e.code === ErrorCodes.DISK_FULL,
  )

  const other = new Error('something else')
  const store = guardLmdbStore(
    fakeStore(() => failedCommit(other)),
    '/srv/strata/store',
  )
  const error = await (store as unknown as { commitSpeed(): Promise<void> }).commitSpeed().then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.equal(error, other)
})

test("LMDB's EIO (a page spill cut short by a full disk) is STRATA_ERR_STORE naming the store and the disk", async () => {
  const eio = () => Object.assign(new Error('Input/output error'), { code: 5 })
  const store = guardLmdbStore(
    fakeStore(() => failedCommit(eio())),
    '/srv/strata/store',
  )
  const error = await (store as unknown as { commitSpeed(): Promise<void> }).commitSpeed().then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(isStrataError(error), `expected a StrataError, got ${String(error)}`)
  assert.equal(error.code, ErrorCodes.STORE)
  assert.match(error.message, /\/srv\/strata\/store/)
  assert.match(error.message, /full disk/)
})
