// Damage inside LMDB pages that the checks at open did not see (a page damaged while running, the
// free list) surfaces as an MDB_* error from any lmdb-js call: a query, a speed commit, a batch
// flip, the background drop of retired versions. Retrying those cannot help and serving past
// them would answer from a store that is no longer what was written, so every such error becomes
// STRATA_ERR_STORE_CORRUPT, naming the recovery, and is reported once to onCorrupt (the CLI
// stops the process: exit 1 with one line).
import { ErrorCodes, isStrataError, StrataError } from '../core/errors.ts'
import { storeCorrupt } from './lmdb-check.ts'
import type { Store } from './store.ts'

// LMDB's return codes that mean the file is not what LMDB wrote (lmdb.h). MDB_BAD_TXN follows
// an earlier failure inside the same transaction, in practice one of these.
const CORRUPTION: Record<number, string> = {
  [-30797]: 'MDB_PAGE_NOTFOUND',
  [-30796]: 'MDB_CORRUPTED',
  [-30795]: 'MDB_PANIC',
  [-30794]: 'MDB_VERSION_MISMATCH',
  [-30793]: 'MDB_INVALID',
  [-30786]: 'MDB_PAGE_FULL',
  [-30782]: 'MDB_BAD_TXN',
}
// VALUE_CHECKSUM: a value whose bytes do not match the checksum written with it (lmdb-checksum.ts).
const CORRUPTION_TEXT =
  /MDB_(PAGE_NOTFOUND|CORRUPTED|PANIC|VERSION_MISMATCH|INVALID|PAGE_FULL|BAD_TXN)|VALUE_CHECKSUM/

/** The LMDB name of a corruption error, or undefined for any other error. */
export function lmdbCorruption(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object' || isStrataError(error)) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'number' && CORRUPTION[code] !== undefined) return CORRUPTION[code]
  return CORRUPTION_TEXT.exec(String((error as Error).message))?.[0]
}

/**
 * A write that failed for want of disk room: lmdb-js gives LMDB's errno as a number (28 ENOSPC,
 * 122 EDQUOT), Node's fs calls give the name.
 */
export function lmdbNoSpace(error: unknown): boolean {
  if (error === null || typeof error !== 'object' || isStrataError(error)) return false
  const code = (error as { code?: unknown }).code
  return code === 28 || code === 122 || code === 'ENOSPC' || code === 'EDQUOT'
}

// Not damage and not a store fault to hide behind STRATA_ERR_STORE: the operator has to free
// space. Not `retriable` either: that would send it to the committer's ride-out of a store outage
// (roles.ts), 60 s during which /health showed the partition running while nothing committed.
// The speed partition's own backoff retries it, counting the failures (degraded, then stalled);
// a failed batch run is tried again at the next one.
function storeDiskFull(path: string, cause: unknown): StrataError {
  return new StrataError(
    ErrorCodes.DISK_FULL,
    `no room on disk for the LMDB store at ${path} (${String((cause as Error).message)}); nothing of the write was committed. Free space on that disk: writes resume by themselves`,
    { cause },
  )
}

// LMDB turns a write cut short into EIO (mdb_page_flush: a short pwrite is EIO), which is how a
// full disk surfaces in a large transaction (a batch flip's page spill): "mdb_page_spill error 5",
// then lmdb-js's bare "Input/output error". Said with the store's path and both readings.
function storeWriteFailed(path: string, cause: unknown): StrataError {
  return new StrataError(
    ErrorCodes.STORE,
    `the LMDB store at ${path} could not write its pages (${String((cause as Error).message)}): LMDB reports a write cut short this way, usually a full disk (check its free space), else a failing device (check the kernel log); nothing of the write was committed`,
    { cause },
  )
}

function lmdbIoError(error: unknown): boolean {
  if (error === null || typeof error !== 'object' || isStrataError(error)) return false
  const code = (error as { code?: unknown }).code
  return code === 5 || code === 'EIO'
}

/** LMDB's message, led by the error's name once (lmdb-js's messages usually start with it). */
function describe(name: string, error: unknown): string {
  const message = String((error as Error).message)
  return message.startsWith(name) ? message : `${name}: ${message}`
}

/**
 * LMDB's own error behind a failed asynchronous commit. lmdb-js rejects the write with "Commit
 * failed (see commitError for details)" and puts LMDB's error in `commitError`, a promise that
 * rejects a moment later; left alone, that promise was the unhandled MDB_BAD_TXN rejection that
 * killed `strata start` a few seconds after "ready". Handled here, whoever sees the error.
 */
export async function commitCause(error: unknown): Promise<unknown> {
  const pending = (error as { commitError?: unknown } | null)?.commitError
  if (!(pending instanceof Promise)) return error
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([pending, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))])
    return error
  } catch (cause) {
    return cause
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The store with every call's LMDB corruption errors turned into STRATA_ERR_STORE_CORRUPT (sync
 * throws, rejected promises, async iterators, and the methods of returned handles such as a
 * BatchStage). onCorrupt sees the first one.
 */
export function guardLmdbStore(store: Store, path: string, onCorrupt?: (error: Error) => void): Store {
  let reported = false
  const report = (corrupt: StrataError) => {
    if (!reported) {
      reported = true
      onCorrupt?.(corrupt)
    }
  }
  const leaks = (cause: unknown) =>
    report(storeCorrupt(path, describe(lmdbCorruption(cause) ?? '', cause), cause))
  leakedFailureListeners.add(leaks)
  const convert = (error: unknown): unknown => {
    if (lmdbNoSpace(error)) return storeDiskFull(path, error)
    if (lmdbIoError(error)) return storeWriteFailed(path, error)
    const name = lmdbCorruption(error)
    if (name === undefined) return error
    const corrupt = storeCorrupt(path, describe(name, error), error)
    report(corrupt)
    return corrupt
  }
  const wrap = (value: unknown): unknown => {
    if (value instanceof Promise) {
      return value.then(wrap, async (error) => {
        throw convert(await commitCause(error))
      })
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    if (Symbol.asyncIterator in value) return guardIterable(value as AsyncIterable<unknown>, convert)
    // A handle (an object with methods): its calls are guarded too. Plain data passes as is.
    if (Object.values(value).some((v) => typeof v === 'function')) return guardMethods(value, wrap, convert)
    return value
  }
  catchLeakedCommitFailures()
  const guarded = guardMethods(store, wrap, convert)
  const close = guarded.close.bind(guarded)
  guarded.close = () => {
    leakedFailureListeners.delete(leaks)
    return close()
  }
  return guarded
}

// lmdb-js also rejects an internal promise of every failed commit that no caller holds (checked
// with lmdb 3: `await db.put(...)` on a damaged store leaks one "Commit failed" rejection besides
// the one the caller gets). Unhandled, Node kills the process with a stack trace and no code.
// These, and only these, are taken here: damage is reported to every open guarded store, any
// other cause dropped (its caller has it); any other unhandled rejection keeps Node's default.
const leakedFailureListeners = new Set<(cause: unknown) => void>()
let leakNetInstalled = false

function catchLeakedCommitFailures(): void {
  if (leakNetInstalled) return
  leakNetInstalled = true
  process.on('unhandledRejection', (reason) => {
    const pending = (reason as { commitError?: unknown } | null)?.commitError
    if (!(pending instanceof Promise)) {
      if (process.listenerCount('unhandledRejection') === 1) throw reason
      return
    }
    commitCause(reason).then((cause) => {
      if (lmdbCorruption(cause) === undefined) {
        // Not damage (a full disk, say): the caller of the failed write got the same failure
        // through its own promise and handles it (a speed commit backs off and its partition
        // shows degraded, then stalled; a batch run fails and says so). This copy is a duplicate
        // that no caller holds: crashing on it turned a full disk into a dead process.
        return
      }
      for (const listener of leakedFailureListeners) listener(cause)
    })
  })
}

function guardMethods<T extends object>(
  target: T,
  wrap: (value: unknown) => unknown,
  convert: (error: unknown) => unknown,
): T {
  return new Proxy(target, {
    get(object, property) {
      const member = Reflect.get(object, property, object)
      if (typeof member !== 'function') return member
      return (...args: unknown[]) => {
        try {
          return wrap(member.apply(object, args))
        } catch (error) {
          throw convert(error)
        }
      }
    },
  })
}

async function* guardIterable<T>(source: AsyncIterable<T>, convert: (error: unknown) => unknown) {
  try {
    yield* source
  } catch (error) {
    throw convert(error)
  }
}
