// The speed layer's state in LMDB, and the reads of a query. Each function is one LMDB
// transaction (synchronous callback inside db.transaction), which is what docs/horizon.md needs;
// the decisions inside them are speed-rules.ts, shared with PostgreSQL.
//
// Key layout:
//   ['sp', partition]                              → SpeedPartition
//   ['sv', view]                                   → SpeedView
//   ['rl', seq, nonce], ['rn']                     → the speed log: each commit's deltas as one row,
//                                                    folded into 'rs' rows later (lmdb-speed-log.ts)
//   ['rs', code, key, window, at]                  → encoded state of one group in one epoch, as
//                                                    folded by the compactor (lmdb-compactor.ts);
//                                                    `code` is the view's (['vc']), `at` the
//                                                    partition and epoch in base 36 (`p:epoch`)
//   ['vc', view], ['vn']                           → the view's code in state rows (base 36, never
//                                                    reused), and the last code handed out
//   ['re', partition, epoch, offset]               → [code, key, window, code, key, window, …]: the
//                                                    rows of that epoch first written by a compaction
//                                                    pass whose last commit of the partition ended at
//                                                    offset, for GC (one index row per pass and epoch,
//                                                    not one per state row: half the writes)
//
// Layout 3 (store-format.ts): state rows were ['rt', view, key, window, partition, epoch] and the
// index [[view, key, window], …] before. Every number in an ordered-binary array key takes 10
// bytes, and the view's name was in every row: 59 bytes of key for a 9-character url, 33 now
// (docs/decisions/0011-speed-delta-log.md, "Memory"). migrateStateRows moves an older store's rows.
//   ['rq', partition]                              → boundaries required of a partition never claimed
//   ['ve', view]                                   → ViewErrorTally: events the view's code threw on,
//                                                    and the partitions it stopped (recordViewStop)
//   ['lk', stored]                                 → [the full key] of a long key (long-keys.ts); `key`
//                                                    in 'rs', 're' and 'b' rows is the stored form
//   ['snapshot']                                   → the snapshot version: every transaction below that
//                                                    changes what a query reads writes a new one
//                                                    (lmdb-snapshot-memo.ts)
//   ['snapshot', 'keys'], ['kt', version]          → the key rows version and what it changed: moved
//                                                    by every transaction that changes a key's state
//                                                    rows (a pass names its keys; a collection or a
//                                                    registration any key), not by a speed commit
//                                                    (lmdb-snapshot-version.ts)
import type { RootDatabase } from 'lmdb'
import { trace, tracing } from '../core/fresh-trace.ts'
import type { TimeRange } from '../core/time-range.ts'
import { addToTally, byView, type ViewErrorTally, type ViewFoldError, withStop } from '../core/view-errors.ts'
import { readKeyRows } from './lmdb-batch.ts'
import type { SnapshotMemo } from './lmdb-snapshot-memo.ts'
import {
  bumpKeyRowsVersion,
  bumpSnapshotVersion,
  keyHash,
  SNAPSHOT_VERSION,
} from './lmdb-snapshot-version.ts'
import {
  appendLog,
  type LogCache,
  type LoggedRow,
  loggedDeltas,
  loggedKeys,
  loggedRows,
  logRowOf,
} from './lmdb-speed-log.ts'
import { ensureViewCode, groupAt, stateKey, viewCode } from './lmdb-state-keys.ts'
import { isDigest, storedForm } from './long-keys.ts'
import {
  alignPartition,
  checkSpeedCommit,
  claimState,
  collectedState,
  collectionBound,
  keepFrom,
  registration,
  restartPartition,
} from './speed-rules.ts'
import {
  type BatchViewMeta,
  deltaCount,
  type Horizon,
  type SpeedCommit,
  type SpeedPartition,
  type SpeedView,
  type ViewSnapshot,
} from './store.ts'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

const HIGH = '\uffff'

/** The stored form of a key, recording the full key of a long one (an idempotent put). */
export function storedKey(db: Db, key: string): string {
  const stored = storedForm(key)
  // In an array: lmdb-js misreads a bare string value that starts with a control character.
  if (stored !== key) db.put(['lk', stored], [key])
  return stored
}

/** The key a stored form stands for. */
export function fullKey(db: Db, stored: string): string {
  return isDigest(stored) ? ((db.get(['lk', stored]) as [string] | undefined)?.[0] ?? stored) : stored
}

function getPartition(db: Db, partition: number): SpeedPartition | undefined {
  return db.get(['sp', partition]) as SpeedPartition | undefined
}

export function claimPartition(db: Db, partition: number, initial: number): Promise<SpeedPartition> {
  return db.transaction(() => {
    // Horizons a batch run aligned before anyone claimed the partition are owed by the first claimer.
    const owed = (db.get(['rq', partition]) as number[] | undefined) ?? []
    const claimed = claimState(getPartition(db, partition), owed, partition, initial)
    db.put(['sp', partition], claimed)
    db.remove(['rq', partition])
    bumpSnapshotVersion(db)
    return claimed
  })
}

export function speedPartition(db: Db, partition: number): SpeedPartition | undefined {
  return getPartition(db, partition)
}

export function speedPartitions(db: Db): SpeedPartition[] {
  return [...db.getRange({ start: ['sp'], end: ['sp', HIGH] })].map(({ value }) => value as SpeedPartition)
}

export function speedViews(db: Db): SpeedView[] {
  return [...db.getRange({ start: ['sv'], end: ['sv', HIGH] })].map(({ value }) => value as SpeedView)
}

/** Every recorded view to its code hash, inside the caller's transaction. */
function recordedHashes(db: Db): Map<string, string> {
  return new Map(speedViews(db).map((v) => [v.view, v.codeHash]))
}

export function registerSpeedViews(
  db: Db,
  views: Array<{ view: string; codeHash: string }>,
  partitions: number,
): Promise<SpeedView[]> {
  return db.transaction(() => {
    const recorded = recordedHashes(db)
    const { restarted, forgotten } = registration(recorded, views)
    // Forgotten views' logged deltas stay in the log until a fold drops them (deltaCounts: a view
    // not recorded counts nothing); their folded rows and errors go now.
    for (const view of forgotten) {
      dropRealtime(db, view)
      db.remove(['sv', view])
    }
    for (const { view, codeHash } of restarted) {
      // New or changed definition: its realtime states restart at the current offsets.
      const start: Horizon = []
      for (let p = 0; p < partitions; p++) {
        const state = getPartition(db, p)
        const restart = restartPartition(state)
        start.push(restart.start)
        if (state && restart.required) db.put(['sp', p], { ...state, required: restart.required })
      }
      dropRealtime(db, view) // the old definition's (none for a new view)
      db.put(['sv', view], { view, codeHash, start })
    }
    // Folded rows dropped, a speed view changed: any key's stored rows may have.
    if (forgotten.length > 0 || restarted.length > 0) bumpKeyRowsVersion(db, true)
    return speedViews(db)
  })
}

/** A view's folded state rows and its error tally (the errors of code no longer run). */
function dropRealtime(db: Db, view: string): void {
  const code = viewCode(db, view)
  if (code !== undefined)
    for (const key of db.getKeys({ start: ['rs', code], end: ['rs', code, HIGH] })) db.remove(key as Key)
  db.remove(['ve', view])
}

// lmdb-js runs the transaction callbacks queued meanwhile (other partitions' commits, see
// PartitionFolder.take) in one LMDB transaction, and keeps the writes of a callback that threw
// halfway: the offset would stay and the rows written so far be counted again on the retry. So
// the write phase keeps an undo log and puts every row it touched back as it was before
// rethrowing. (A child transaction would do it too, but cost ~12% more CPU per event in the
// catch-up, measured: LMDB merges a child's dirty pages into its parent.) The deltas themselves
// are one log row (lmdb-speed-log.ts), encoded before anything is written; the combines run in
// the compactor, not here.
export function commitSpeed(db: Db, commit: SpeedCommit): Promise<void> {
  return db.transaction(() => {
    const { partition } = commit
    const after = checkSpeedCommit(getPartition(db, partition), commit, recordedHashes(db))
    const row = deltaCount(commit.deltas) > 0 ? logRowOf(commit, (key) => storedKey(db, key)) : undefined
    // Everything is checked: only now write. What was there before each write, in order, so that a
    // throw below leaves the store as it was: undefined = the row did not exist.
    const undoKeys: Key[] = []
    const undoValues: unknown[] = []
    try {
      undoKeys.push(SNAPSHOT_VERSION)
      undoValues.push(db.get(SNAPSHOT_VERSION))
      bumpSnapshotVersion(db)
      if (row) {
        undoKeys.push(['rn'])
        undoValues.push(db.get(['rn']))
        for (const key of appendLog(db, row)) {
          undoKeys.push(key)
          undoValues.push(undefined)
        }
      }
      if (commit.errors?.length) writeErrorTallies(db, commit, undoKeys, undoValues)
      db.put(['sp', partition], after)
      if (tracing) trace({ e: 'txn', p: partition, off: commit.offset })
    } catch (error) {
      for (let i = undoKeys.length - 1; i >= 0; i--) {
        if (undoValues[i] === undefined) db.remove(undoKeys[i])
        else db.put(undoKeys[i], undoValues[i])
      }
      throw error
    }
  })
}

// In the commit's transaction, so the errors of an event count once, as its states do.
function writeErrorTallies(db: Db, commit: SpeedCommit, undoKeys: Key[], undoValues: unknown[]): void {
  const at = Date.now()
  for (const [view, errors] of byView(commit.errors ?? [])) {
    const key: Key = ['ve', view]
    const before = db.get(key) as ViewErrorTally | undefined
    undoKeys.push(key)
    undoValues.push(before)
    db.put(key, addToTally(before, errors, commit.offered ?? 0, at))
  }
}

/**
 * Moves the state rows and epoch index rows of layouts 1 and 2 to layout 3 (see the layout
 * above), `chunk` rows per write transaction, so a store of millions of rows needs no giant
 * transaction. Safe to run again after a crash halfway (lmdb-store.ts records that it is under
 * way): a moved state row is deleted in the transaction that writes it, and an index row is
 * rewritten only while it holds the old form.
 */
export async function migrateStateRows(db: Db, chunk = 20_000): Promise<void> {
  for (;;) {
    const moved = await db.transaction(() => {
      const rows = [...db.getRange({ start: ['rt'], end: ['rt', HIGH], limit: chunk })]
      for (const { key, value } of rows) {
        const [, view, k, window, p, epoch] = key as [string, string, string, number, number, number]
        db.put(stateKey(ensureViewCode(db, view), k, window, p, epoch), value)
        db.remove(key as Key)
      }
      return rows.length
    })
    if (moved === 0) break
  }
  let from: Key = ['re']
  for (;;) {
    const last = await db.transaction(() => {
      const rows = [...db.getRange({ start: from, end: ['re', HIGH], limit: chunk })]
      for (const { key, value } of rows) {
        const old = value as Array<[string, string, number]>
        if (old.length === 0 || !Array.isArray(old[0])) continue
        const flat: unknown[] = []
        for (const [view, k, window] of old) flat.push(ensureViewCode(db, view), k, window)
        db.put(key as Key, flat)
      }
      return rows.length < chunk ? undefined : (rows[rows.length - 1].key as Key)
    })
    if (last === undefined) break
    from = [...last, 0.5] as Key
  }
}

export function speedViewErrors(db: Db): Map<string, ViewErrorTally> {
  const out = new Map<string, ViewErrorTally>()
  for (const { key, value } of db.getRange({ start: ['ve'], end: ['ve', HIGH] })) {
    out.set(key[1] as string, value as ViewErrorTally)
  }
  return out
}

export function recordViewStop(db: Db, failure: ViewFoldError): Promise<void> {
  return db.transaction(() => {
    const key: Key = ['ve', failure.view]
    db.put(key, withStop(db.get(key) as ViewErrorTally | undefined, failure))
  })
}

export function alignHorizon(db: Db, wished: Horizon, floor: Horizon): Promise<Horizon> {
  return db.transaction(() => {
    let moved = false
    const aligned = wished.map((want, p) => {
      const state = getPartition(db, p)
      // A partition never claimed keeps what it owes its first claimer apart, in ['rq', p].
      const owed = state ? [] : ((db.get(['rq', p]) as number[] | undefined) ?? [])
      const { horizon, required } = alignPartition(state, owed, want, floor[p] ?? 0)
      if (required) {
        if (state) db.put(['sp', p], { ...state, required })
        else db.put(['rq', p], required)
        moved ||= state !== undefined
      }
      return horizon
    })
    if (moved) bumpSnapshotVersion(db)
    return aligned
  })
}

// One write transaction per partition: the served versions, the recorded views and the
// partition's state read there are those no registration, flip or commit can change before its
// deletes are written. A partition at a time, not all in one: the transaction runs on the thread
// that called (in `strata start` the HTTP API's), and all of them at once held it and LMDB's
// writer for 50–150 ms after a batch run at 10,000 events/s (BENCHMARKS.md, Freshness).
export async function collectEpochs(db: Db, running: readonly string[]): Promise<void> {
  for (const { partition } of speedPartitions(db)) {
    await db.transaction(() => {
      const state = getPartition(db, partition)
      if (state === undefined) return
      const served = [...db.getRange({ start: ['served'], end: ['served', HIGH] })].map(
        ({ value }) => value as BatchViewMeta,
      )
      const bound = collectionBound(served, speedViews(db), running, partition)
      const keep = bound === undefined ? undefined : keepFrom(state, bound)
      if (keep === undefined) return
      for (const { key, value } of db.getRange({ start: ['re', partition], end: ['re', partition, keep] })) {
        const epoch = (key as Key)[2] as number
        const rows = value as unknown[]
        for (let i = 0; i < rows.length; i += 3) {
          db.remove(
            stateKey(rows[i] as string, rows[i + 1] as string, rows[i + 2] as number, partition, epoch),
          )
        }
        db.remove(key as Key)
      }
      db.put(['sp', partition], collectedState(state, keep))
      bumpKeyRowsVersion(db, true)
    })
  }
}

/** Reads everything a query of (view, key) needs in one read transaction (a snapshot). */
// A read transaction, not transactionSync: in lmdb-js that is a write transaction, so every
// query took the store's write lock and waited behind the speed layer's commits (in this
// process or another one on the same store). A read transaction is a consistent snapshot too.
// The realtime rows are the folded state rows, then the deltas still in the log (each counted in
// one place or the other, never both: lmdb-speed-log.ts). What is not the key's own rows, and
// the key's own rows when it was asked under the same snapshot version before, come from the
// memo (lmdb-snapshot-memo.ts).
export function snapshot(
  db: Db,
  log: LogCache,
  memo: SnapshotMemo,
  view: string,
  asked: string,
  range: TimeRange,
): ViewSnapshot {
  const key = storedForm(asked)
  const began = tracing ? performance.now() : 0
  const transaction = db.useReadTransaction()
  try {
    const {
      batch,
      speed,
      speedView,
      code,
      log: rows,
    } = memo.reads(
      transaction,
      view,
      () => ({ speed: partitionsIn(db, transaction), log: loggedRows(db, log, transaction) }),
      () => ({
        batch: db.get(['served', view], { transaction }) as ViewSnapshot['batch'],
        speedView: db.get(['sv', view], { transaction }) as ViewSnapshot['speedView'],
        code: viewCode(db, view, transaction),
      }),
    )
    const from = range.from ?? Number.NEGATIVE_INFINITY
    const to = range.to ?? Number.POSITIVE_INFINITY
    // One id per question: from and to hold no \0, the view's length says where the key starts.
    const id = `${from}\0${to}\0${view.length}\0${view}${asked}`
    const { batchEntries, realtime } = memo.keyReads(id, () => {
      // The key's stored rows last across speed commits (which only append to the log), until a
      // write names the key (lmdb-snapshot-memo.ts); its logged deltas are read from this
      // version's log rows.
      const { batchEntries, states } = memo.storedReads(
        keyHash(view, key),
        id,
        (): ViewSnapshot['batchEntries'] =>
          batch ? readKeyRows(db, view, batch.version, key, from, to, asked, transaction) : [],
        () => {
          const states: ViewSnapshot['realtime'] = []
          if (code === undefined) return states
          for (const { key: k, value } of db.getRange({
            start: ['rs', code, key, from],
            end: ['rs', code, key, to],
            transaction,
          })) {
            const [, , , window, at] = k as [string, string, string, number, string]
            const { partition, epoch } = groupAt(at)
            if (batch && epoch < (batch.horizon[partition] ?? 0)) continue
            states.push({ partition, epoch, window, state: value })
          }
          return states
        },
      )
      const context = { speed, speedView, horizon: batch?.horizon }
      const read = (row: LoggedRow) => log.read(db, row.key, transaction, row.id)
      const logged = loggedDeltas(rows, read, view, key, from, to, context)
      return { batchEntries, realtime: logged.length === 0 ? states : [...states, ...logged] }
    })
    const version = memo.version
    if (tracing)
      trace({ e: 'read', ms: performance.now() - began, rows: rows.length, found: realtime.length })
    return version === undefined
      ? { batch, batchEntries, realtime, speedView, speed }
      : { batch, batchEntries, realtime, speedView, speed, version }
  } finally {
    transaction.done()
  }
}

/** The speed partitions, indexed by partition (holes where one was never claimed). */
function partitionsIn(db: Db, transaction: unknown): Array<SpeedPartition | undefined> {
  const speed: Array<SpeedPartition | undefined> = []
  for (const { value } of db.getRange({ start: ['sp'], end: ['sp', HIGH], transaction } as never)) {
    const state = value as SpeedPartition
    speed[state.partition] = state
  }
  return speed
}

/**
 * Distinct keys with realtime states in a view, ascending: the state rows are sorted by key (so
 * repeats are skipped), and merged with the keys that have deltas still in the log.
 */
export function* realtimeKeys(db: Db, log: LogCache, view: string): Generator<string> {
  const transaction = db.useReadTransaction()
  try {
    const logged = [...loggedKeys(db, log, transaction, view)].sort(byStoredOrder)
    const code = viewCode(db, view, transaction) ?? HIGH
    let next = 0
    let last: string | undefined
    for (const key of db.getKeys({ start: ['rs', code], end: ['rs', code, HIGH], transaction } as never)) {
      const k = (key as Key)[2] as string
      if (k === last) continue
      last = k
      while (next < logged.length && byStoredOrder(logged[next], k) < 0) yield fullKey(db, logged[next++])
      if (logged[next] === k) next++
      yield fullKey(db, k)
    }
    while (next < logged.length) yield fullKey(db, logged[next++])
  } finally {
    transaction.done()
  }
}

/** The order of strings in LMDB keys (ordered-binary: UTF-8 bytes), which is code-point order. */
function byStoredOrder(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number
    const y = b.codePointAt(i) as number
    if (x !== y) return x - y
    if (x > 0xffff) i++
  }
  return a.length - b.length
}
