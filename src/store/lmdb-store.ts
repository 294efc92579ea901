// The embedded store on LMDB (lmdb-js): memory-mapped, ACID, crash-safe with its default
// syncing, and fast for the point and range reads queries make.
//
// Key layout (ordered-binary array keys, so ranges are prefix scans):
//   ['served', view]                      → BatchViewMeta of the served version
//   ['next', view]                        → next version number to stage
//   ['staged', view, version]             → pid of the process staging a version not yet served
//   ['retired', view, version]            → true for a replaced version whose entries are being dropped
//   ['b', view, version, key, first]      → [windows, states] of one key: its windows from `first` on,
//                                           at most 256 a row (lmdb-batch.ts; key: its stored form,
//                                           long-keys.ts)
//   ['lk', stored]                        → the full key of a long key's stored form
//   ['history', completedAt, view]        → BatchViewMeta of a completed run
//   ['meta', name]                        → what the store was built from (source-identity.ts)
//   ['format']                            → the layout of all of the above (store-format.ts)
//   ['snapshot']                          → the snapshot version, new with every flip and every
//                                           speed-store write a query reads (lmdb-snapshot-memo.ts)
//   ['snapshot', 'keys'], ['kt', version] → the key rows version, new with every write of a key's
//                                           stored rows, and what each one changed
//                                           (lmdb-snapshot-version.ts)
//   ['migrating']                         → the layout a migration to this one started from, until done
//   ['migrating', 'values']               → [the last key a migration to layout 5 rewrote]
// Every value is MessagePack behind a mark and a CRC-32 of its bytes (lmdb-checksum.ts).
import { compareKeys, open, type RootDatabase } from 'lmdb'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { TimeRange } from '../core/time-range.ts'
import { BATCH_MIGRATION, BatchRows, migrateBatchRows, readKeyRows, scanRows } from './lmdb-batch.ts'
import { checkLmdbHeader, storeCorrupt, walkLmdbStore } from './lmdb-check.ts'
import { ChecksummedValues } from './lmdb-checksum.ts'
import { type CompactorOptions, SpeedCompactor } from './lmdb-compactor.ts'
import { commitCause, guardLmdbStore, lmdbCorruption } from './lmdb-guard.ts'
import { SnapshotMemo } from './lmdb-snapshot-memo.ts'
import {
  bumpKeyRowsVersion,
  firstVersion,
  KEY_ROWS_VERSION,
  SNAPSHOT_VERSION,
  startKeyRowsVersion,
} from './lmdb-snapshot-version.ts'
import * as speed from './lmdb-speed.ts'
import { fullKey, storedKey } from './lmdb-speed.ts'
import { LogCache } from './lmdb-speed-log.ts'
import { snapshotVersionReader } from './lmdb-version-read.ts'
import { storedForm } from './long-keys.ts'
import type {
  BatchStage,
  BatchViewMeta,
  CombineEncoded,
  Horizon,
  SpeedCommit,
  SpeedPartition,
  SpeedView,
  Store,
  ViewEntry,
  ViewErrorTally,
  ViewFoldError,
  ViewSnapshot,
} from './store.ts'
import { checkLmdbFormat, LMDB_FORMAT } from './store-format.ts'

type Key = (string | number | boolean)[]

const HISTORY_KEEP = 200
/**
 * Keys of a batch version written per transaction at its commit, and the time one transaction
 * may take: the transaction's callback runs on the calling thread (in `strata start`, the HTTP
 * API's) and holds LMDB's writer, so the speed layer's commits wait behind it. 10,000 keys took
 * up to 240 ms there (BENCHMARKS.md, Freshness); 10 ms costs a commit per 10 ms of writing.
 */
const WRITE_KEYS = 10_000
const WRITE_MS = 10

// The address space LMDB maps the store into, reserved up front (virtual memory only: without
// MDB_WRITEMAP the file is not grown to it, and only pages read count in RSS). lmdb-js starts
// with a 128 KiB map and grows it as the file grows, and it keeps every earlier mapping (buffers
// it returned may point into them): their pages stay resident too, so a store of 226 MB held 416 MB
// of RSS in 11 mappings after the speed log of 1 M keys was folded (BENCHMARKS.md, Memory). One
// mapping from the start reads each page once. A store that outgrows it is remapped as before.
// 64 GiB of the 128 TiB of x86-64's user address space leaves room for 2,000 open stores.
export const LMDB_MAP_BYTES = 64 * 1024 ** 3

/**
 * How every Strata process opens its LMDB store. `noMetaSync`: lmdb-js flushes a commit after it
 * is visible (overlappingSync, its default here), on the writer thread that runs the next
 * commits, and without this flag each flush is two synchronous disk writes, the data pages' and
 * then the meta page's (written through a second descriptor opened for synchronous writes). With
 * it the meta page is written plainly and reaches the disk with the next flush: one synchronous
 * write per flush. LMDB keeps the store whole either way; what a system crash (not a process
 * crash) may undo is the last flushed commit as well as the unflushed ones, which overlappingSync
 * already left undone: a speed commit's offset and states go back together and are read again
 * from Kafka. On a disk whose flush takes milliseconds, every partition's next commit waits for
 * the flushes before it, which is most of the freshness tail (decision 0011, addendum
 * "One synchronous write per flush"; BENCHMARKS.md, Freshness, session 13).
 */
export const LMDB_OPEN_OPTIONS = { compression: false, mapSize: LMDB_MAP_BYTES, noMetaSync: true } as const

export interface LmdbOpenOptions {
  /** Read every row in a child process first (lmdb-check.ts); the CLI does, tests need not. */
  walk?: boolean
  /** Told of the first damage found while running (lmdb-guard.ts); the CLI exits 1. */
  onCorrupt?: (error: Error) => void
  /** When the speed log is folded into the state rows (lmdb-compactor.ts). */
  compactor?: CompactorOptions
}

export async function openLmdbStore(path: string, options: LmdbOpenOptions = {}): Promise<Store> {
  // Damage is found before LMDB maps the file: a damaged map is a signal, not an error.
  if ((await checkLmdbHeader(path)) && options.walk) await walkLmdbStore(path)
  let db: RootDatabase<unknown, Key>
  // Every read decodes here, and a value whose checksum does not match is VALUE_CHECKSUM damage.
  const values = new ChecksummedValues()
  try {
    db = open<unknown, Key>({ path, ...LMDB_OPEN_OPTIONS, encoder: values })
  } catch (cause) {
    if (lmdbCorruption(cause)) throw storeCorrupt(path, (cause as Error).message, cause)
    throw new StrataError(ErrorCodes.STORE, `cannot open the LMDB store at ${path}: ${openProblem(cause)}`, {
      cause,
    })
  }
  // A failed background fold changes no answer (queries read the log it left) but is not kept
  // quiet: damage goes to onCorrupt as any other store call's would, anything else is a process
  // warning (the next fold tries again).
  const onCompactError = (error: unknown) => {
    commitCause(error).then((cause) => {
      const damage = lmdbCorruption(cause)
      if (damage) options.onCorrupt?.(storeCorrupt(path, `${damage}: ${(cause as Error).message}`, cause))
      process.emitWarning(`the LMDB speed log could not be folded: ${(cause as Error)?.message ?? cause}`, {
        code: ErrorCodes.STORE,
      })
    })
  }
  const refuse = async (caught: unknown): Promise<never> => {
    const error = await commitCause(caught)
    await db.close().catch(() => undefined)
    if (lmdbCorruption(error)) throw storeCorrupt(path, (error as Error).message, error)
    throw error
  }
  // Before anything is read, folded or dropped: rows of another layout are none of those
  // (store-format.ts); the compactor reads the speed log as soon as it exists.
  await stampFormat(db, path, values).catch(refuse)
  const store = new LmdbStore(db, new SpeedCompactor(db, options.compactor ?? {}, onCompactError))
  const guarded = guardLmdbStore(store, path, options.onCorrupt)
  await dropMarked(db, 'staged').catch(refuse)
  store.dropRetired()
  return guarded
}

// A migration (store-format.ts) first stamps the new layout with ['migrating'] beside it, in one
// transaction: from then on an older Strata refuses the store (a newer layout) instead of reading
// it half moved, and a crash halfway leaves the marker, so the next open finishes the move.
async function stampFormat(
  db: RootDatabase<unknown, Key>,
  path: string,
  values: ChecksummedValues,
): Promise<void> {
  const migrating = await db.transaction(() => {
    const recorded = db.get(['format'])
    const empty = recorded === undefined && db.getKeysCount({ limit: 1 }) === 0
    const verdict = checkLmdbFormat(recorded, empty, path)
    // The rows move after this transaction, in transactions of their own (batch rows, then the
    // speed state rows: either may be tens of millions), under ['migrating']: an older Strata
    // refuses a store stamped with this layout, and the next open finishes a migration cut short.
    if (verdict !== 'ok') db.put(['format'], LMDB_FORMAT)
    // Layout 3 to 4 moves no row; 4 to 5 rewrites every value with its checksum; 5 to 6 moves
    // no row (lmdb-log-row.ts reads a layout-5 log row as it is): the stamp above is all of it.
    if (verdict === 'migrate' && ((recorded as number | undefined) ?? 1) < 5) {
      db.put(['migrating'], recorded ?? 1)
      db.put(VALUES_MIGRATION, [])
      if (((recorded as number | undefined) ?? 1) < 3) db.put(BATCH_MIGRATION, [])
    }
    // The snapshot version rows (store-format.ts): an older store gets them with its stamp.
    if (db.get(SNAPSHOT_VERSION) === undefined) db.put(SNAPSHOT_VERSION, firstVersion())
    if (db.get(KEY_ROWS_VERSION) === undefined) startKeyRowsVersion(db)
    // A migration cut short before this layout's step existed (or written so by hand): all of it.
    if (db.get(['migrating']) !== undefined && db.get(VALUES_MIGRATION) === undefined)
      db.put(VALUES_MIGRATION, [])
    return db.get(['migrating']) !== undefined
  })
  if (!migrating) {
    values.legacy = false
    return
  }
  await migrateBatchRows(db)
  await speed.migrateStateRows(db)
  await migrateValues(db)
  values.legacy = false
  // The moved rows are what queries read: the last step is a new snapshot version, too.
  await db.transaction(() => {
    db.remove(['migrating'])
    db.remove(VALUES_MIGRATION)
    bumpKeyRowsVersion(db, true)
  })
}

const VALUES_MIGRATION: Key = ['migrating', 'values']

/**
 * Layout 4 to 5: every row's value rewritten, now with its checksum, in transactions of `chunk`
 * rows in key order; ['migrating', 'values'] holds the last key done inside a list (empty before
 * the first chunk: a key may be a string, ['format'] is read back as 'format'), so a crash halfway
 * resumes after it (a row rewritten twice is the same row), then `true` until ['migrating'] goes
 * with it.
 */
export async function migrateValues(db: RootDatabase<unknown, Key>, chunk = 20_000): Promise<void> {
  for (let more = true; more; ) {
    more = await db.transaction(() => {
      const done = db.get(VALUES_MIGRATION) as [Key] | [] | true | undefined
      if (!Array.isArray(done)) return false
      const after = done.length === 0 ? undefined : done[0]
      const rows = [...db.getRange({ start: after, limit: chunk + 1 })].filter(
        ({ key }) => after === undefined || compareKeys(key, after) !== 0,
      )
      for (const { key, value } of rows.slice(0, chunk)) db.put(key as Key, value)
      if (rows.length === 0) {
        db.put(VALUES_MIGRATION, true)
        return false
      }
      db.put(VALUES_MIGRATION, [rows[Math.min(chunk, rows.length) - 1]!.key])
      return true
    })
  }
}

function isAlive(pid: unknown): boolean {
  if (typeof pid !== 'number' || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

// Versions staged by a run that never flipped (it crashed, or was aborted) are garbage, and so
// are versions retired by a flip (dropped in the background after it, so a batch run does not
// wait for the deletes; a crash mid-way leaves the marker, and the next open finishes the job).
async function dropMarked(db: RootDatabase<unknown, Key>, marker: 'staged' | 'retired'): Promise<void> {
  const marked = [...db.getRange({ start: [marker], end: [marker, '\uffff'] })]
    // Several processes may share one LMDB folder (`strata batch` beside `strata start`): a stage
    // whose process is alive is in progress, not garbage.
    .filter(({ value }) => marker === 'retired' || !isAlive(value))
    .map(({ key }) => key)
  for (const key of marked) {
    const [, view, version] = key as [string, string, number]
    await dropVersion(db, view, version)
    await db.remove(key as Key)
  }
}

async function dropVersion(db: RootDatabase<unknown, Key>, view: string, version: number): Promise<void> {
  // Removed in bounded transactions so a large old version does not hold the write lock long.
  const range = { start: ['b', view, version], end: ['b', view, version + 0.5], snapshot: false }
  let batch: Key[] = []
  for (const key of db.getKeys(range)) {
    batch.push(key as Key)
    if (batch.length === 10_000) {
      const keys = batch
      await db.transaction(() => {
        for (const k of keys) db.remove(k)
      })
      batch = []
    }
  }
  if (batch.length > 0) {
    await db.transaction(() => {
      for (const k of batch) db.remove(k)
    })
  }
}

class LmdbStore implements Store {
  /** lmdb-js runs write transactions in the order they were asked for (SpeedStore.commitsInOrder). */
  readonly commitsInOrder = true
  #db: RootDatabase<unknown, Key>
  #background: Promise<void> = Promise.resolve()
  readonly #compactor: SpeedCompactor
  readonly #log = new LogCache()
  readonly #memo: SnapshotMemo
  /** store.snapshotVersion: the row, read again only when the read snapshot moved (lmdb-version-read.ts). */
  readonly #version: () => number | undefined

  constructor(db: RootDatabase<unknown, Key>, compactor: SpeedCompactor) {
    this.#db = db
    this.#compactor = compactor
    this.#memo = new SnapshotMemo(db)
    this.#version = snapshotVersionReader(db)
  }

  async listBatchViews(): Promise<BatchViewMeta[]> {
    return [...this.#db.getRange({ start: ['served'], end: ['served', '\uffff'] })].map(
      ({ value }) => value as BatchViewMeta,
    )
  }

  async servedBatch(view: string): Promise<BatchViewMeta | undefined> {
    return this.#db.get(['served', view]) as BatchViewMeta | undefined
  }

  dropRetired(): void {
    // A failure here is met again by the next call that reads the same pages (and reported there).
    this.#background = this.#background
      .then(() => dropMarked(this.#db, 'retired'))
      .catch((error) => commitCause(error).then(() => undefined))
  }

  async stageBatch(view: string): Promise<BatchStage> {
    const db = this.#db
    const dropRetired = () => this.dropRetired()
    const version = await db.transaction(() => {
      const next = (db.get(['next', view]) as number | undefined) ?? 1
      db.put(['next', view], next + 1)
      db.put(['staged', view, next], process.pid)
      return next
    })
    let open = true
    // A key's windows are one row (lmdb-batch.ts), and its entries may come in several puts: they
    // are collected here and written at commit, before the flip, in bounded transactions.
    const collected = new BatchRows()
    return {
      view,
      version,
      async put(entries: ViewEntry[]) {
        if (!open) throw new StrataError(ErrorCodes.STORE, `batch version ${version} of ${view} is closed`)
        collected.add(entries)
      },
      async putColumns(columns) {
        if (!open) throw new StrataError(ErrorCodes.STORE, `batch version ${version} of ${view} is closed`)
        collected.addColumns(columns)
      },
      async putKeyed(columns) {
        if (!open) throw new StrataError(ErrorCodes.STORE, `batch version ${version} of ${view} is closed`)
        collected.addKeyed(columns)
      },
      async commit(meta) {
        if (!open) throw new StrataError(ErrorCodes.STORE, `batch version ${version} of ${view} is closed`)
        open = false
        const keys = collected.rows()
        for (let done = false; !done; ) {
          await db.transaction(() => {
            const started = performance.now()
            for (let n = 0; n < WRITE_KEYS; n++) {
              if ((n & 63) === 63 && performance.now() - started >= WRITE_MS) return
              const next = keys.next()
              if (next.done) {
                done = true
                return
              }
              const [key, rows] = next.value
              const stored = storedKey(db, key)
              for (const [first, row] of rows) db.put(['b', view, version, stored, first], row)
            }
          })
        }
        const served: BatchViewMeta = { view, version, ...meta }
        const previous = await db.transaction(() => {
          const before = db.get(['served', view]) as BatchViewMeta | undefined
          // The flip: one put, in one transaction with the bookkeeping.
          db.put(['served', view], served)
          db.remove(['staged', view, version])
          db.put(['history', served.completedAt, view], served)
          if (before) db.put(['retired', view, before.version], true)
          // Every key of the view reads other batch rows and another horizon now.
          bumpKeyRowsVersion(db, true)
          return before
        })
        if (previous) dropRetired()
        await trimHistory(db)
        return served
      },
      async abort() {
        if (!open) return
        open = false
        await dropVersion(db, view, version)
        await db.remove(['staged', view, version])
      },
    }
  }

  async readBatch(view: string, version: number, key: string, range: TimeRange = {}): Promise<ViewEntry[]> {
    const from = range.from ?? Number.NEGATIVE_INFINITY
    const to = range.to ?? Number.POSITIVE_INFINITY
    return readKeyRows(this.#db, view, version, storedForm(key), from, to, key)
  }

  async *scanBatch(view: string, version: number): AsyncIterable<ViewEntry> {
    yield* scanRows(this.#db, view, version, (stored) => fullKey(this.#db, stored))
  }

  async batchHistory(limit: number): Promise<BatchViewMeta[]> {
    const out: BatchViewMeta[] = []
    for (const { value } of this.#db.getRange({
      start: ['history', '\uffff'],
      end: ['history'],
      reverse: true,
      limit,
    })) {
      out.push(value as BatchViewMeta)
    }
    return out
  }

  // The speed layer and queries: lmdb-speed.ts.
  claimPartition(partition: number, initial: number): Promise<SpeedPartition> {
    return speed.claimPartition(this.#db, partition, initial)
  }

  async speedPartitions(): Promise<SpeedPartition[]> {
    return speed.speedPartitions(this.#db)
  }

  async speedPartition(partition: number): Promise<SpeedPartition | undefined> {
    return speed.speedPartition(this.#db, partition)
  }

  registerSpeedViews(
    views: Array<{ view: string; codeHash: string }>,
    partitions: number,
  ): Promise<SpeedView[]> {
    return speed.registerSpeedViews(this.#db, views, partitions)
  }

  async speedViews(): Promise<SpeedView[]> {
    return speed.speedViews(this.#db)
  }

  async commitSpeed(commit: SpeedCommit, combine: CombineEncoded): Promise<void> {
    await speed.commitSpeed(this.#db, commit)
    this.#compactor.committed(commit, combine)
  }

  compactSpeed(combine: CombineEncoded): Promise<number> {
    return this.#compactor.compactAll(combine)
  }

  speedLogRows(): number {
    return this.#compactor.pendingRows()
  }

  alignHorizon(wished: Horizon, floor: Horizon): Promise<Horizon> {
    return speed.alignHorizon(this.#db, wished, floor)
  }

  async speedViewErrors(): Promise<Map<string, ViewErrorTally>> {
    return speed.speedViewErrors(this.#db)
  }

  recordViewStop(failure: ViewFoldError): Promise<void> {
    return speed.recordViewStop(this.#db, failure)
  }

  collectEpochs(running: readonly string[]): Promise<void> {
    return speed.collectEpochs(this.#db, running)
  }

  async snapshot(view: string, key: string, range: TimeRange = {}): Promise<ViewSnapshot> {
    return speed.snapshot(this.#db, this.#log, this.#memo, view, key, range)
  }

  snapshotVersion(): number | undefined {
    return this.#version()
  }

  async *realtimeKeys(view: string): AsyncIterable<string> {
    yield* speed.realtimeKeys(this.#db, this.#log, view)
  }

  async readMeta(name: string): Promise<unknown> {
    return this.#db.get(['meta', name])
  }

  async claimMeta(name: string, value: unknown): Promise<unknown> {
    const db = this.#db
    return db.transaction(() => {
      const stored = db.get(['meta', name])
      if (stored !== undefined) return stored
      db.put(['meta', name], value)
      return value
    })
  }

  async clear(): Promise<void> {
    await this.#background
    await this.#compactor.settled()
    await this.#db.clearAsync()
    this.#log.clear()
    this.#memo.clear()
    // An empty store is in this version's layout (a store with rows and no record reads as 1),
    // and its snapshot version starts afresh at random: the version read before clearAsync could
    // have been bumped by another process meanwhile (V -> V+1, its memo filled at V+1 with rows
    // the clear then removed), so "V + 1" could hand that memo back its own, stale, version.
    await this.#db.transaction(() => {
      this.#db.put(['format'], LMDB_FORMAT)
      this.#db.put(SNAPSHOT_VERSION, firstVersion())
      startKeyRowsVersion(this.#db)
    })
  }

  async close(): Promise<void> {
    await this.#background
    await this.#compactor.close()
    await this.#db.close()
  }
}

async function trimHistory(db: RootDatabase<unknown, Key>): Promise<void> {
  const keys = [
    ...db.getKeys({ start: ['history', '\uffff'], end: ['history'], reverse: true, offset: HISTORY_KEEP }),
  ]
  if (keys.length === 0) return
  await db.transaction(() => {
    for (const key of keys) db.remove(key as Key)
  })
}

// Why LMDB would not open, in words a user can act on: a read-only folder failed with "cannot open
// the LMDB store" alone (strata query, strata batch), its cause only under --verbose.
function openProblem(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause)
  const code = (cause as { code?: unknown } | null)?.code
  if (code === 13 || code === 'EACCES' || /permission denied/i.test(message)) {
    return `${message}: LMDB writes its lock file even to read, so the store's folder must be writable by this process (give --data or --store a folder it can write)`
  }
  return message
}
