// What the SpeedCompactor tests (lmdb-compactor.test.ts) share: a store with one speed view
// (`hits`) and partition 0 claimed, the raw LMDB handle a compactor is given (checksummed values,
// as the store writes them), commits of that view, and compactors that throw what they hit. All
// of it is closed, the compactors first, and the folder removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { open, type RootDatabase } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { type CompactorOptions, SpeedCompactor } from '../../src/store/lmdb-compactor.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { CombineEncoded, RealtimeDelta, SpeedCommit } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

type Key = (string | number | boolean)[]

export async function compactorFixture(t: TestContext) {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const raw = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => raw.close())
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h' }], 1)
  const { owner } = await store.claimPartition(0, 0)
  const sum: CombineEncoded = (_view, a, b) => (a as number) + (b as number)
  /** One delta of key `/a`: commits of it all add to one state row. */
  const delta: RealtimeDelta = { view: 'hits', epoch: 0, key: '/a', window: 0, state: 1 }
  /** The commit of offset `at` with these deltas. */
  const commit = (at: number, deltas: RealtimeDelta[] = [delta]): SpeedCommit => ({
    partition: 0,
    owner,
    hashes: { hits: 'h' },
    from: at,
    offset: at + 1,
    deltas,
    seals: [],
  })
  /** The commit of offset `at` with `n` deltas of keys no other commit has (`/k${at}-${i}`). */
  const commitNew = (at: number, n: number): SpeedCommit =>
    commit(
      at,
      Array.from({ length: n }, (_, i) => ({
        view: 'hits',
        epoch: 0,
        key: `/k${at}-${i}`,
        window: 0,
        state: 1,
      })),
    )
  /** A compactor of `db` (the raw handle, or one that counts what is done to it), closed at the end. */
  const compactor = (options: CompactorOptions, db: RootDatabase<unknown, Key> = raw) => {
    const c = new SpeedCompactor(db, options, (e) => {
      throw e
    })
    defer(() => c.close())
    return c
  }
  /** A catch-up: `commits` commits of `n` new keys each, stored and told to `c` at once. */
  const catchUp = async (c: SpeedCompactor, commits: number, n: number) => {
    for (let at = 0; at < commits; at++) {
      await store.commitSpeed(commitNew(at, n), sum)
      c.committed(commitNew(at, n), sum)
    }
  }
  /**
   * Live traffic after a catch-up of `from` commits: each call tells `c` of one commit of one new
   * key and waits 20 ms (a look or two), far below a tenth of a whole pass a span.
   */
  const liveTraffic = (c: SpeedCompactor, from: number) => {
    let at = from
    return async () => {
      c.committed(commitNew(at++, 1), sum)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  /** The realtime sum a query of `key` reads (state rows and the log). */
  const total = async (key: string) =>
    (await store.snapshot('hits', key)).realtime.reduce((s, r) => s + (r.state as number), 0)
  return { store, raw, owner, sum, delta, commit, commitNew, compactor, catchUp, liveTraffic, total }
}
