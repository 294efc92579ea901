// The speed layer's state in LMDB, and the reads of a query. Each function is one LMDB
// transaction (synchronous callback inside db.transaction), which is what docs/horizon.md needs;
// the decisions inside them are speed-rules.ts, shared with PostgreSQL.
//
// Key layout:
//   ['sp', partition]                              → SpeedPartition
//   ['sv', view]                                   → SpeedView
//   ['rt', view, key, window, partition, epoch]    → encoded state of one group in one epoch
//   ['re', partition, epoch, offset]               → [[view, key, window], …]: the rows of that epoch
//                                                    first written by the commit ending at offset,
//                                                    for GC (one index row per commit and epoch,
//                                                    not one per state row: half the writes)
//   ['rq', partition]                              → boundaries required of a partition never claimed
//   ['ve', view]                                   → ViewErrorTally: events the view's code threw on
//   ['lk', stored]                                 → [the full key] of a long key (long-keys.ts); `key`
//                                                    in 'rt', 're' and 'b' rows is the stored form
import type { RootDatabase } from 'lmdb'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { TimeRange } from '../core/time-range.ts'
import { addToTally, byView, type ViewErrorTally } from '../core/view-errors.ts'
import { isDigest, storedForm } from './long-keys.ts'
import {
  alignPartition,
  checkSpeedCommit,
  claimState,
  collectedState,
  keepFrom,
  restartPartition,
} from './speed-rules.ts'
import type {
  CombineEncoded,
  Horizon,
  SpeedCommit,
  SpeedPartition,
  SpeedView,
  ViewSnapshot,
} from './store.ts'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

const HIGH = '\uffff'
const NO_OVERWRITE = { noOverwrite: true }

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

export function registerSpeedViews(
  db: Db,
  views: Array<{ view: string; codeHash: string }>,
  partitions: number,
): Promise<SpeedView[]> {
  return db.transaction(() => {
    for (const { view, codeHash } of views) {
      const recorded = db.get(['sv', view]) as SpeedView | undefined
      if (recorded?.codeHash === codeHash) continue
      // New or changed definition: its realtime states restart at the current offsets.
      const start: Horizon = []
      for (let p = 0; p < partitions; p++) {
        const state = getPartition(db, p)
        const restart = restartPartition(state)
        start.push(restart.start)
        if (state && restart.required) db.put(['sp', p], { ...state, required: restart.required })
      }
      if (recorded) {
        for (const key of db.getKeys({ start: ['rt', view], end: ['rt', view, HIGH] })) db.remove(key as Key)
      }
      db.remove(['ve', view]) // the errors of the old definition's code
      db.put(['sv', view], { view, codeHash, start })
    }
    return speedViews(db)
  })
}

// lmdb-js runs the transaction callbacks queued meanwhile (other partitions' commits, see
// PartitionFolder.take) in one LMDB transaction, and keeps the writes of a callback that threw
// halfway (a combine that fails on row 1,000): the offset would stay and the rows written so far
// be combined again on the retry. So the write phase keeps an undo log and puts every row it
// touched back as it was before rethrowing. (A child transaction would do it too, but cost ~12%
// more CPU per event in the catch-up, measured: LMDB merges a child's dirty pages into its parent.)
export function commitSpeed(db: Db, commit: SpeedCommit, combine: CombineEncoded): Promise<void> {
  return db.transaction(() => {
    const { partition } = commit
    const after = checkSpeedCommit(getPartition(db, partition), commit, (view) => {
      return (db.get(['sv', view]) as SpeedView | undefined)?.codeHash
    })
    // Everything is checked: only now write. What was there before each write, in order, so that a
    // throw below leaves the store as it was: undefined = the row did not exist.
    const undoKeys: Key[] = []
    const undoValues: unknown[] = []
    try {
      writeSpeedRows(db, commit, combine, undoKeys, undoValues)
      if (commit.errors?.length) writeErrorTallies(db, commit, undoKeys, undoValues)
      db.put(['sp', partition], after)
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

export function speedViewErrors(db: Db): Map<string, ViewErrorTally> {
  const out = new Map<string, ViewErrorTally>()
  for (const { key, value } of db.getRange({ start: ['ve'], end: ['ve', HIGH] })) {
    out.set(key[1] as string, value as ViewErrorTally)
  }
  return out
}

function writeSpeedRows(
  db: Db,
  commit: SpeedCommit,
  combine: CombineEncoded,
  undoKeys: Key[],
  undoValues: unknown[],
): void {
  const { partition, deltas } = commit
  const created = new Map<number, Array<[string, string, number]>>()
  // A row is written in one LMDB call when it is new: a put that refuses to overwrite (LMDB's
  // MDB_NOOVERWRITE) either creates the row or fails because it exists, and only then is it read
  // and combined. LMDB decides inside this transaction, so this is exact whatever wrote the row
  // before (a previous owner, an earlier commit, an earlier delta of this one). Where most rows
  // exist already (few keys, a long epoch) the failed put is a wasted call: after the first 64
  // rows, if more than half existed, read first for the rest of the commit.
  let tried = 0
  let existed = 0
  for (const { view, epoch, key: raw, window, state: delta } of deltas) {
    const key = storedKey(db, raw)
    const rowKey: Key = ['rt', view, key, window, partition, epoch]
    let stored: unknown
    let isNew: boolean
    if (tried++ < 64 || existed * 2 < tried) {
      // Logged before the put: putIfAbsent may throw after writing.
      undoKeys.push(rowKey)
      undoValues.push(undefined)
      isNew = putIfAbsent(db, rowKey, delta)
      if (!isNew) {
        stored = db.get(rowKey)
        undoValues[undoValues.length - 1] = stored
      }
    } else {
      stored = db.get(rowKey)
      isNew = stored === undefined
      undoKeys.push(rowKey)
      undoValues.push(stored)
      if (isNew) db.put(rowKey, delta)
    }
    if (isNew) {
      const rows = created.get(epoch)
      if (rows === undefined) created.set(epoch, [[view, key, window]])
      else rows.push([view, key, window])
    } else {
      existed++
      db.put(rowKey, combine(view, stored, delta))
    }
  }
  for (const [epoch, rows] of created) {
    const indexKey: Key = ['re', partition, epoch, commit.offset]
    const earlier = db.get(indexKey) as Array<[string, string, number]> | undefined
    undoKeys.push(indexKey)
    undoValues.push(earlier)
    db.put(indexKey, earlier === undefined ? rows : [...earlier, ...rows])
  }
}

// lmdb-js documents putSync as returning whether it wrote (README), though its typings say void.
// Anything but a boolean would make an existing row look new or a new one combined twice: refuse.
function putIfAbsent(db: Db, key: Key, value: unknown): boolean {
  const written = db.putSync(key, value, NO_OVERWRITE) as unknown
  if (typeof written !== 'boolean') {
    throw new StrataError(ErrorCodes.INTERNAL, 'lmdb putSync did not say whether it wrote the row')
  }
  return written
}

export function alignHorizon(db: Db, wished: Horizon, floor: Horizon): Promise<Horizon> {
  return db.transaction(() => {
    return wished.map((want, p) => {
      const state = getPartition(db, p)
      // A partition never claimed keeps what it owes its first claimer apart, in ['rq', p].
      const owed = state ? [] : ((db.get(['rq', p]) as number[] | undefined) ?? [])
      const { horizon, required } = alignPartition(state, owed, want, floor[p] ?? 0)
      if (required) {
        if (state) db.put(['sp', p], { ...state, required })
        else db.put(['rq', p], required)
      }
      return horizon
    })
  })
}

export function collectEpochs(db: Db, below: Horizon): Promise<void> {
  return db.transaction(() => {
    for (const [p, bound] of below.entries()) {
      const state = getPartition(db, p)
      const keep = keepFrom(state, bound)
      if (!state || keep === undefined) continue
      for (const { key, value } of db.getRange({ start: ['re', p], end: ['re', p, keep] })) {
        const epoch = (key as Key)[2] as number
        for (const [view, k, window] of value as Array<[string, string, number]>) {
          db.remove(['rt', view, k, window, p, epoch])
        }
        db.remove(key as Key)
      }
      db.put(['sp', p], collectedState(state, keep))
    }
  })
}

/** Reads everything a query of (view, key) needs in one read transaction (a snapshot). */
// A read transaction, not transactionSync: in lmdb-js that is a write transaction, so every
// query took the store's write lock and waited behind the speed layer's commits (in this
// process or another one on the same store). A read transaction is a consistent snapshot too.
export function snapshot(db: Db, view: string, asked: string, range: TimeRange): ViewSnapshot {
  const key = storedForm(asked)
  const transaction = db.useReadTransaction()
  try {
    const batch = db.get(['served', view], { transaction }) as ViewSnapshot['batch']
    const from = range.from ?? Number.NEGATIVE_INFINITY
    const to = range.to ?? Number.POSITIVE_INFINITY
    const batchEntries: ViewSnapshot['batchEntries'] = []
    if (batch) {
      for (const { key: k, value } of db.getRange({
        start: ['b', view, batch.version, key, from],
        end: ['b', view, batch.version, key, to],
        transaction,
      })) {
        batchEntries.push({ key: asked, window: (k as Key)[4] as number, state: value })
      }
    }
    const realtime: ViewSnapshot['realtime'] = []
    for (const { key: k, value } of db.getRange({
      start: ['rt', view, key, from],
      end: ['rt', view, key, to],
      transaction,
    })) {
      const [, , , window, partition, epoch] = k as [string, string, string, number, number, number]
      if (batch && epoch < (batch.horizon[partition] ?? 0)) continue
      realtime.push({ partition, epoch, window, state: value })
    }
    const speed: ViewSnapshot['speed'] = []
    for (const { value } of db.getRange({ start: ['sp'], end: ['sp', HIGH], transaction })) {
      const state = value as SpeedPartition
      speed[state.partition] = state
    }
    return {
      batch,
      batchEntries,
      realtime,
      speedView: db.get(['sv', view], { transaction }) as ViewSnapshot['speedView'],
      speed,
    }
  } finally {
    transaction.done()
  }
}

/** Distinct keys with realtime rows in a view: rows are sorted by key, so skip repeats. */
export function* realtimeKeys(db: Db, view: string): Generator<string> {
  let last: string | undefined
  for (const key of db.getKeys({ start: ['rt', view], end: ['rt', view, HIGH] })) {
    const k = (key as Key)[2] as string
    if (k !== last) yield fullKey(db, k)
    last = k
  }
}
