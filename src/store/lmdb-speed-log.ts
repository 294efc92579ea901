// The speed log of the LMDB store: each speed commit writes its deltas as ONE row, in the same
// transaction as its offset (rule 1 of docs/horizon.md is unchanged), and a compactor folds the
// log into the state rows later (lmdb-compactor.ts). Writing a commit's 20,000 deltas into the
// state B-tree inside the commit cost 1.6-2.0 µs per event on the speed layer's one thread; one
// log row costs 0.09 µs (decision docs/decisions/0011-speed-delta-log.md).
//
// Key layout (beside lmdb-speed.ts's):
//   ['rn']                → the last log sequence number handed out
//   ['rl', seq, nonce]    → the deltas of one commit as columns (lmdb-log-row.ts), in commit
//                           order (seq ascending).
//                           `nonce` is random per row, so a cached decoding of a row (LogCache)
//                           can never be taken for another row that reuses its seq after a clear.
//                           The log names views and keys in full; the state rows it is folded into
//                           name a view by its code (lmdb-speed.ts).
//
// Exactly once, whatever the compactor does: a logged delta is either still in its log row or
// folded into a state row, never both and never neither, because folding a row and deleting it
// are one LMDB transaction, and every reader (a query's read transaction, the compactor's write
// transaction) sees one snapshot. What a delta would have become in a state row meanwhile —
// dropped by rule 6 or by a redefined view — is decided for logged deltas by one rule,
// `deltaCounts` in speed-rules.ts, which readers and the compactor both apply.
import type { RootDatabase } from 'lmdb'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { type LogRow, pickRow, rowOf, storedRow } from './lmdb-log-row.ts'
import { bumpKeyRowsVersion, keyHash } from './lmdb-snapshot-version.ts'
import { ensureViewCode, groupAtText, viewCode } from './lmdb-state-keys.ts'
import { type KeyFilter, keyFilterOf } from './log-key-filter.ts'
import { deltaCounts, loggedDeltaFate } from './speed-rules.ts'
import type { CombineEncoded, SpeedPartition, SpeedView } from './store.ts'

export { type LogRow, logRowOf, rowOf } from './lmdb-log-row.ts'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

const HIGH = '\uffff'

/** Appends a log row inside the caller's write transaction; returns the keys it wrote. */
export function appendLog(db: Db, row: LogRow): Key[] {
  const seq = ((db.get(['rn']) as number | undefined) ?? 0) + 1
  const key: Key = ['rl', seq, Math.random()]
  db.put(['rn'], seq)
  db.put(key, storedRow(row))
  return [key]
}

/** A log row with its deltas indexed by view and key, for queries. */
export interface IndexedRow {
  row: LogRow
  /** `${view}\0${storedKey}` → positions of its deltas in the row. */
  byKey: Map<string, number[]>
}

function indexRow(row: LogRow): IndexedRow {
  const byKey = new Map<string, number[]>()
  for (let i = 0; i < row.keys.length; i++) {
    const id = `${row.v[row.view[i]!]}\0${row.keys[i]}`
    const at = byKey.get(id)
    if (at === undefined) byKey.set(id, [i])
    else at.push(i)
  }
  return { row, byKey }
}

/**
 * A log row as a listing of the log gives it: its key, and a filter of the (view, key)s it holds
 * (log-key-filter.ts), not its deltas. A query decodes a row only when the filter says it may
 * hold the query's key: a catch-up of distinct keys leaves a log of a million deltas or more, and
 * each listing (one per snapshot version, so one per speed commit) decoding and indexing all of
 * it held the serving thread ~0.5 s per million deltas, which kept the event loop busy enough for
 * the compactor never to drain it (decision 0011, "The drain after a catch-up").
 */
export interface LoggedRow {
  key: Key
  /** The row's nonce: names it alone (a rewritten row gets a new one). */
  id: number
  filter: KeyFilter
}

/**
 * The log rows a process reads, for queries: a key filter of every row listed (KeyFilter, 2 bytes
 * per delta), and the decoded and indexed rows that queries asked (bounded by deltas held; the
 * oldest rows are dropped first). Rows are never changed once written (only deleted), and a key
 * names one row only (its nonce), so a cached row or filter is always the stored row's.
 */
export class LogCache {
  readonly #rows = new Map<number, IndexedRow>()
  /** Per row listed, its filter and the last listing that found it (`#listing`). */
  readonly #filters = new Map<number, { filter: KeyFilter; listed: number }>()
  readonly #limit: number
  #held = 0
  #listing = 0

  constructor(limit = 1_000_000) {
    this.#limit = limit
  }

  /** Decoded rows held (for tests). */
  get size(): number {
    return this.#rows.size
  }

  /** Rows whose key filter is held (for tests): every row of the last listing. */
  get filters(): number {
    return this.#filters.size
  }

  /** The row `key` names, decoded and indexed (from the cache, or read in `transaction`). */
  read(db: Db, key: Key, transaction: unknown, id: number): IndexedRow | undefined {
    const hit = this.#rows.get(id)
    if (hit !== undefined) return hit
    const row = decoded(db, key, transaction)
    if (row === undefined) return undefined
    const indexed = indexRow(row)
    this.#rows.set(id, indexed)
    this.#held += held(indexed.row)
    for (const [old, entry] of this.#rows) {
      if (this.#held <= this.#limit || old === id) break
      this.#rows.delete(old)
      this.#held -= held(entry.row)
    }
    return indexed
  }

  /** The row decoded, not indexed and not kept (a listing of every key reads each row once). */
  decoded(db: Db, key: Key, transaction: unknown, id: number): LogRow | undefined {
    return this.#rows.get(id)?.row ?? decoded(db, key, transaction)
  }

  /** A listing of the log begins: its number, for `filter` and `listed`. */
  listing(): number {
    return ++this.#listing
  }

  /** The key filter of the row `key` names, found by `listing`: made when the row is first listed. */
  filter(db: Db, key: Key, transaction: unknown, id: number, listing: number): KeyFilter | undefined {
    const hit = this.#filters.get(id)
    if (hit !== undefined) {
      hit.listed = listing
      return hit.filter
    }
    const row = this.#rows.get(id)?.row ?? decoded(db, key, transaction)
    if (row === undefined) return undefined
    const filter = keyFilterOf(row)
    this.#filters.set(id, { filter, listed: listing })
    return filter
  }

  /**
   * Drops the rows and filters a listing of the whole log no longer holds (folded by the
   * compactor, or rewritten under a new nonce): without it the cache kept every row the compactor
   * had deleted until a million deltas were held, ~30 MB of small objects on the serving thread
   * after a catch-up, which every major GC marked (BENCHMARKS.md, Query, session 13). Only a cost
   * saved: a row still needed by an older snapshot is read from that snapshot again.
   *
   * `count` rows were listed by `listing`, each found or given a filter: when the filters held are
   * as many, they are those rows and nothing is walked (a listing per snapshot version walking two
   * maps of every row cost more than its cursor: decision 0011, "The drain after a catch-up").
   */
  listed(listing: number, count: number): void {
    const dropping = this.#filters.size > count
    if (dropping) {
      for (const [id, entry] of this.#filters) if (entry.listed !== listing) this.#filters.delete(id)
    }
    if (!dropping && this.#rows.size <= count) return
    for (const [id, entry] of this.#rows) {
      if (this.#filters.get(id)?.listed === listing) continue
      this.#rows.delete(id)
      this.#held -= held(entry.row)
    }
  }

  clear(): void {
    this.#rows.clear()
    this.#filters.clear()
    this.#held = 0
  }
}

function decoded(db: Db, key: Key, transaction: unknown): LogRow | undefined {
  const value = db.get(key, { transaction } as never)
  return value === undefined ? undefined : rowOf(value)
}

/** What a row counts against LogCache's limit: its values, as layout 5's flat list held them. */
function held(row: LogRow): number {
  return row.keys.length * 5
}

/** What a query needs to know to read logged deltas as the state rows would have them. */
export interface LogReadContext {
  speed: Array<SpeedPartition | undefined>
  speedView: SpeedView | undefined
  /** The served batch horizon: epochs below it are the batch version's (rule 5). */
  horizon: number[] | undefined
}

/** The log rows in commit order, within a read transaction. */
export function* logKeys(db: Db, transaction: unknown): Generator<Key> {
  for (const key of db.getKeys({ start: ['rl'], end: ['rl', HIGH], transaction } as never)) yield key as Key
}

/** The log rows of a read transaction, in commit order, each with its key filter (from the cache). */
export function loggedRows(db: Db, cache: LogCache, transaction: unknown): LoggedRow[] {
  const rows: LoggedRow[] = []
  const listing = cache.listing()
  let count = 0
  for (const logKey of logKeys(db, transaction)) {
    const id = logKey[2] as number
    count++
    const filter = cache.filter(db, logKey, transaction, id, listing)
    if (filter !== undefined) rows.push({ key: logKey, id, filter })
  }
  cache.listed(listing, count)
  return rows
}

/**
 * The logged deltas of (view, stored key) with window in [from, to) that count, in commit order.
 * `read` decodes a row (LogCache.read in the query's transaction); only rows whose filter may hold
 * the key are read.
 */
export function loggedDeltas(
  rows: readonly LoggedRow[],
  read: (row: LoggedRow) => IndexedRow | undefined,
  view: string,
  key: string,
  from: number,
  to: number,
  context: LogReadContext,
): Array<{ partition: number; epoch: number; window: number; state: unknown }> {
  const out: Array<{ partition: number; epoch: number; window: number; state: unknown }> = []
  if (rows.length === 0) return out
  const id = `${view}\0${key}`
  const hash = keyHash(view, key)
  for (const logged of rows) {
    if (!logged.filter.mayHold(hash)) continue
    const indexed = read(logged)
    const at = indexed?.byKey.get(id)
    if (indexed === undefined || at === undefined) continue
    const { row } = indexed
    for (const i of at) {
      const epoch = row.epochs[i]!
      const window = row.windows[i]!
      if (window < from || window >= to) continue
      if (context.horizon && epoch < (context.horizon[row.p] ?? 0)) continue
      if (!deltaCounts(context.speed[row.p], context.speedView, row.p, epoch)) continue
      out.push({ partition: row.p, epoch, window, state: row.states[i] })
    }
  }
  return out
}

/** The stored keys of a view that have logged deltas that count (unordered). */
export function loggedKeys(db: Db, cache: LogCache, transaction: unknown, view: string): Set<string> {
  const speed: Array<SpeedPartition | undefined> = []
  for (const { value } of db.getRange({ start: ['sp'], end: ['sp', HIGH], transaction } as never)) {
    const state = value as SpeedPartition
    speed[state.partition] = state
  }
  const speedView = db.get(['sv', view], { transaction } as never) as SpeedView | undefined
  const keys = new Set<string>()
  // Through loggedRows, so this listing of the log drops folded rows from the cache as well.
  for (const logged of loggedRows(db, cache, transaction)) {
    const row = cache.decoded(db, logged.key, transaction, logged.id)
    if (row === undefined) continue
    const v = row.v.indexOf(view)
    if (v < 0) continue
    for (let i = 0; i < row.keys.length; i++) {
      const key = row.keys[i]!
      if (row.view[i] !== v || keys.has(key)) continue
      if (deltaCounts(speed[row.p], speedView, row.p, row.epochs[i]!)) keys.add(key)
    }
  }
  return keys
}

/** A state row the compactor writes: one group of one epoch, its logged deltas combined. */
interface Group {
  view: string
  key: string
  window: number
  partition: number
  epoch: number
  /** The state row key's `at` (groupAtText), made once per group: the sort and the write use it. */
  at: string
  state: unknown
}

/**
 * Folds the oldest log rows (up to about `maxDeltas` deltas) into the state rows and deletes
 * them, in ONE write transaction. `combineFor` gives the combine of a view's recorded definition
 * (its code hash), undefined when this process does not run that definition: a combine learned
 * for another definition of the same name would fold the new one's states with the old monoid. What becomes of each delta is one rule, `loggedDeltaFate`
 * (speed-rules.ts): folded; dropped when it no longer counts (a view forgotten or redefined, an
 * epoch collected), which needs no combine; or, when it counts but its view is unknown here, kept
 * in the log for a process that knows it — its row is written again holding only those deltas, in
 * its place (same sequence number, a new nonce), and the rows after it are folded all the same:
 * the log never stalls behind a view this process does not run. A row holding only such deltas
 * is left as it is. Returns the log rows folded or rewritten and the deltas folded or dropped.
 *
 * A combine that throws leaves the store as it was (lmdb-js runs queued callbacks in one LMDB
 * transaction and keeps the writes of one that threw halfway, see commitSpeed in lmdb-speed.ts):
 * the rows written before it are put back.
 */
export function compactLog(
  db: Db,
  combineFor: (view: string, codeHash: string | undefined) => CombineEncoded | undefined,
  maxDeltas: number,
  /** Told how long the pass's callback ran (ms), the time it held this thread, and how many
   * deltas it folded into state rows (not those dropped or kept: they cost next to nothing). */
  timed?: (ms: number, folded: number) => void,
): Promise<{ rows: number; deltas: number }> {
  let folded = 0
  return db.transaction(() => {
    const began = performance.now()
    try {
      return pass()
    } finally {
      timed?.(performance.now() - began, folded)
    }
  })
  function pass(): { rows: number; deltas: number } {
    const partitions = new Map<number, SpeedPartition | undefined>()
    const views = new Map<string, SpeedView | undefined>()
    const partitionOf = (p: number) => {
      if (!partitions.has(p)) partitions.set(p, db.get(['sp', p]) as SpeedPartition | undefined)
      return partitions.get(p)
    }
    const viewOf = (name: string) => {
      if (!views.has(name)) views.set(name, db.get(['sv', name]) as SpeedView | undefined)
      return views.get(name)
    }
    const fate = (row: LogRow, i: number, combinable: boolean[]) =>
      loggedDeltaFate(
        partitionOf(row.p),
        viewOf(row.v[row.view[i]!]!),
        row.p,
        row.epochs[i]!,
        combinable[row.view[i]!]!,
      )
    const taken: Array<{ key: Key; row: LogRow; combinable: boolean[] }> = []
    let deltas = 0
    for (const { key, value } of db.getRange({ start: ['rl'], end: ['rl', HIGH] })) {
      const row = rowOf(value)
      const combinable = row.v.map((view) => combineFor(view, viewOf(view)?.codeHash) !== undefined)
      // A row that holds only deltas kept for another process has nothing to do here.
      if (!combinable.every(Boolean)) {
        let work = false
        for (let i = 0; i < row.keys.length && !work; i++) work = fate(row, i, combinable) !== 'keep'
        if (!work) continue
      }
      taken.push({ key: key as Key, row, combinable })
      deltas += row.keys.length
      if (deltas >= maxDeltas) break
    }
    if (taken.length === 0) return { rows: 0, deltas: 0 }
    // Deltas of one group across the rows taken are combined here first: one state row write per
    // group, however many commits touched it. Per view, per key, the key's few groups in a list:
    // an id string per delta (numbers turned to text, a hash of it) cost more than the B-tree.
    const byView = new Map<string, Map<string, Group[]>>()
    /** Per partition, the offset of its last commit taken: names its epoch index rows. */
    const lastOffset = new Map<number, number>()
    /** Rows that keep deltas for another process: written again with only those. */
    const rewritten: Array<{ key: Key; row: LogRow }> = []
    for (const { key: logKey, row, combinable } of taken) {
      const p = row.p
      lastOffset.set(p, row.o)
      const state = partitionOf(p)
      const rowViews = row.v.map(viewOf)
      const rowKeys = row.v.map((name) => {
        let keys = byView.get(name)
        if (keys === undefined) {
          keys = new Map()
          byView.set(name, keys)
        }
        return keys
      })
      let kept: number[] | undefined
      // A row's deltas are mostly of one epoch: its `at` text is made once, not per group.
      let atEpoch = -1
      let at = ''
      for (let i = 0; i < row.keys.length; i++) {
        const v = row.view[i]!
        const epoch = row.epochs[i]!
        const what = loggedDeltaFate(state, rowViews[v], p, epoch, combinable[v])
        if (what === 'drop') continue
        if (what === 'keep') {
          kept ??= []
          kept.push(i)
          deltas -= 1
          continue
        }
        folded++
        const view = row.v[v]
        const key = row.keys[i]!
        const window = row.windows[i]!
        const keys = rowKeys[v]
        const list = keys.get(key)
        let group: Group | undefined
        if (list !== undefined) {
          for (const g of list) {
            if (g.window === window && g.partition === p && g.epoch === epoch) {
              group = g
              break
            }
          }
        }
        if (group !== undefined) {
          group.state = (combineFor(view, rowViews[v]?.codeHash) as CombineEncoded)(
            view,
            group.state,
            row.states[i],
          )
        } else {
          if (epoch !== atEpoch) {
            atEpoch = epoch
            at = groupAtText(p, epoch)
          }
          const created: Group = { view, key, window, partition: p, epoch, at, state: row.states[i] }
          if (list === undefined) keys.set(key, [created])
          else list.push(created)
        }
      }
      if (kept !== undefined) rewritten.push({ key: logKey, row: pickRow(row, kept) })
    }
    // In key order (keys sorted natively, with no comparator to call; then each key's few
    // groups): neighbouring writes land on the same B-tree pages.
    const ordered: Group[] = []
    const codes = new Map<string, string>()
    for (const [view, keys] of [...byView].sort((a, b) => byCode(codes, db, a[0], b[0]))) {
      for (const key of [...keys.keys()].sort()) {
        const list = keys.get(key) as Group[]
        if (list.length > 1) list.sort(byWindowAt)
        for (const g of list) ordered.push(g)
      }
      codes.set(view, ensureViewCode(db, view))
    }
    /** Per partition and epoch, the rows created: code, key, window, flat. */
    const created = new Map<string, { partition: number; epoch: number; rows: unknown[] }>()
    // A new state row is written in one LMDB call: a put that refuses to overwrite (LMDB's
    // MDB_NOOVERWRITE) creates it or fails because it exists, and only then is it read and
    // combined (a get and a put cost twice the B-tree walks, measured). A combine may throw after
    // rows were written: they are put back as they were (undo) before the throw goes on.
    // The undo is the groups up to `reached` (each written or about to be: putIfAbsent may throw
    // after writing) and what an existing row held before, by group: no object per group.
    let reached = -1
    const before = new Map<number, unknown>()
    const writeGroups = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const g = ordered[i]
        const code = codes.get(g.view) as string
        const rowKey: Key = ['rs', code, g.key, g.window, g.at]
        // Counted before the put: putIfAbsent may throw after writing.
        reached = i
        if (putIfAbsent(db, rowKey, g.state)) {
          const entry = created.get(g.at)
          if (entry === undefined) {
            created.set(g.at, { partition: g.partition, epoch: g.epoch, rows: [code, g.key, g.window] })
          } else entry.rows.push(code, g.key, g.window)
        } else {
          const stored = db.get(rowKey)
          before.set(i, stored)
          db.put(
            rowKey,
            (combineFor(g.view, viewOf(g.view)?.codeHash) as CombineEncoded)(g.view, stored, g.state),
          )
        }
      }
    }
    try {
      // In nested transactions of CHILD_GROUPS groups each (one LMDB transaction all the same: a
      // child's writes become the pass's when it commits, and nothing is visible before the pass
      // commits). LMDB keeps a transaction's dirty pages in a sorted array and lmdb-js's
      // allocator hands out free pages in descending order, so each page a put copies is
      // inserted at the array's front, moving every entry: a pass dirtying D pages cost D²/2
      // moves, about half the compactor's time at 10 M keys (a pass of 50,000 new rows dirties
      // ~45,000 leaves there, ~11,000 at 1 M). A child keeps its own short array and is merged
      // into its parent's in one linear pass (decision 0011, "The dirty-page list").
      for (let from = 0; from < ordered.length; from += CHILD_GROUPS) {
        const to = Math.min(ordered.length, from + CHILD_GROUPS)
        if (ordered.length <= CHILD_GROUPS) writeGroups(from, to)
        else db.childTransaction(() => writeGroups(from, to))
      }
    } catch (error) {
      for (let i = reached; i >= 0; i--) {
        const g = ordered[i]
        const rowKey: Key = ['rs', codes.get(g.view) as string, g.key, g.window, g.at]
        if (!before.has(i)) db.remove(rowKey)
        else db.put(rowKey, before.get(i))
      }
      throw error
    }
    // The epoch index for rule 6 (lmdb-speed.ts): one row per partition, epoch and pass, named
    // by the partition's last commit folded (its offsets only grow, so the name is new; an
    // existing row is appended to all the same).
    for (const { partition, epoch, rows } of created.values()) {
      const indexKey: Key = ['re', partition, epoch, lastOffset.get(partition) as number]
      const earlier = db.get(indexKey) as unknown[] | undefined
      db.put(indexKey, earlier === undefined ? rows : [...earlier, ...rows])
    }
    for (const { key } of taken) db.remove(key)
    // In its place: the same sequence number, so the log keeps commit order; a new nonce, so no
    // cached decoding of the old row (LogCache) is taken for it.
    for (const { key, row } of rewritten) db.put(['rl', key[1] as number, Math.random()], storedRow(row))
    // Queries keep the log rows and partitions of a version, and each key's state rows until a
    // write names the key (lmdb-snapshot-memo.ts): the keys whose state rows this pass wrote.
    // One hash a key, not a group: a key's groups are together in `byView`.
    const touched = new Set<number>()
    for (const [view, keys] of byView) for (const key of keys.keys()) touched.add(keyHash(view, key))
    bumpKeyRowsVersion(db, [...touched])
    return { rows: taken.length, deltas }
  }
}

/** Views in the order of their codes (base 36: shorter first, then by character), so are their rows. */
function byCode(codes: Map<string, string>, db: Db, a: string, b: string): number {
  const x = codes.get(a) ?? viewCode(db, a) ?? HIGH
  const y = codes.get(b) ?? viewCode(db, b) ?? HIGH
  return x < y ? -1 : x > y ? 1 : 0
}

/** One key's groups in its state rows' order: window, then `at` (a string in the key: stateKey). */
function byWindowAt(a: Group, b: Group): number {
  return a.window - b.window || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)
}

const NO_OVERWRITE = { noOverwrite: true }

/** State-row writes per nested transaction of a compaction pass (see compactLog). */
export const CHILD_GROUPS = 512

// lmdb-js documents putSync as returning whether it wrote (README), though its typings say void.
// Anything but a boolean would make an existing row look new or a new one combined twice: refuse.
function putIfAbsent(db: Db, key: Key, value: unknown): boolean {
  const written = db.putSync(key, value, NO_OVERWRITE) as unknown
  if (typeof written !== 'boolean') {
    throw new StrataError(ErrorCodes.INTERNAL, 'lmdb putSync did not say whether it wrote the row')
  }
  return written
}
