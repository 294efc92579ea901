// One writer per folder. Two processes appending to one embedded log or master dataset interleave
// their lines (garbled records, acknowledged events lost), and two speed layers on one embedded
// store fence each other. So a process that writes a folder first takes its lock, and a second
// one is refused at start, naming the holder.
//
// The lock is SQLite's (node:sqlite, built into Node 24): an exclusive transaction on
// <folder>/strata.lock.db, held by a connection kept open for the process's lifetime. SQLite
// locks with fcntl, which the kernel releases when the process dies, kill -9 included, so a
// stale lock cannot exist; a second connection, even in the same process, gets "database is
// locked" at once (timeout 0). Beside it, <folder>/strata.lock.json names the holder (pid, host,
// command, since): informational only, for the refusal's message; it is never what locks.
//
// Who takes which lock (docs/reliability.md, "One writer per folder"):
//   the data folder  — strata start, strata worker archiver (they write the master dataset);
//   the LMDB store   — strata start, strata worker speed, when the store is the embedded one;
//   both             — strata reset --yes while it deletes (the data folder unless --keep-master).
// strata batch, strata query and strata worker batch|serve take none: they read segments and
// stage batch versions under their own pid, which LMDB lets several processes do at once.
import { accessSync, constants, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { ErrorCodes, StrataError } from '../core/errors.ts'

export const LOCK_FILE = 'strata.lock.db'
export const HOLDER_FILE = 'strata.lock.json'

// The open connections: a DatabaseSync that is garbage-collected closes, and so lets go of its
// lock, even when the caller dropped the FolderLock (a `strata start` that only ever exits).
const held = new Set<DatabaseSync>()

export interface LockHolder {
  pid: number
  host: string
  /** What runs, e.g. "strata start" (never the full command line: it may hold a password). */
  command: string
  /** ISO time the lock was taken. */
  since: string
}

export interface FolderLock {
  folder: string
  /** Lets go of the lock (also done by the OS when the process ends). Idempotent. */
  release(): void
}

/**
 * Takes the folder's lock for this process, or throws STRATA_ERR_DATA_LOCKED naming the holder.
 * `command` is what the holder file says is running (e.g. "strata start").
 */
export function lockFolder(folder: string, command: string): FolderLock {
  const dir = resolve(folder)
  try {
    return takeLock(dir, command)
  } catch (error) {
    if (!isNoRoom(error)) throw error
    // SQLite's "database or disk is full" named neither the folder nor the operator's problem.
    throw new StrataError(
      ErrorCodes.DISK_FULL,
      `no room on disk for the lock of ${dir}: free space on that disk and start again`,
      { cause: error },
    )
  }
}

function takeLock(dir: string, command: string): FolderLock {
  makeFolder(dir)
  const db = new DatabaseSync(join(dir, LOCK_FILE), { timeout: 0 })
  try {
    db.exec('PRAGMA locking_mode=EXCLUSIVE')
    db.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    db.close()
    if (!isBusy(error)) throw error
    throw new StrataError(ErrorCodes.DATA_LOCKED, lockedMessage(dir, readHolder(dir)), {
      cause: error,
    })
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() }
  const holderPath = join(dir, HOLDER_FILE)
  // Written whole, then renamed: a refusal never reads half a file.
  try {
    writeFileSync(`${holderPath}.${process.pid}.tmp`, `${JSON.stringify(holder)}\n`)
    renameSync(`${holderPath}.${process.pid}.tmp`, holderPath)
  } catch (error) {
    rmSync(`${holderPath}.${process.pid}.tmp`, { force: true })
    db.close()
    throw error
  }
  held.add(db)
  return {
    folder: dir,
    release() {
      if (!held.delete(db)) return
      // The holder file first: once the lock goes, the next holder writes its own.
      if (readHolder(dir)?.pid === process.pid) rmSync(holderPath, { force: true })
      db.close()
    },
  }
}

/** Takes several locks (skipping duplicates), all or none. */
export function lockFolders(folders: string[], command: string): FolderLock {
  const locks: FolderLock[] = []
  try {
    for (const folder of new Set(folders.map((f) => resolve(f)))) locks.push(lockFolder(folder, command))
  } catch (error) {
    for (const lock of locks.reverse()) lock.release()
    throw error
  }
  return {
    folder: locks.map((l) => l.folder).join(', '),
    release() {
      for (const lock of locks.reverse()) lock.release()
    },
  }
}

/** The holder recorded beside the lock, if the file is there and readable. */
export function readHolder(folder: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(join(folder, HOLDER_FILE), 'utf8'))
    return typeof holder?.pid === 'number' ? holder : undefined
  } catch {
    return undefined
  }
}

function lockedMessage(dir: string, holder: LockHolder | undefined): string {
  const who = holder
    ? `strata pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`} (${holder.command}, since ${holder.since})`
    : 'another strata process (it has not written strata.lock.json yet)'
  return `data folder ${dir} is in use by ${who}; stop it, or give another --data (or --store)`
}

// The first write of every writing command: Node's bare "EEXIST: file already exists, mkdir"
// (or "ENOENT" from a recursive mkdir on a read-only mount, or SQLite's "unable to open database
// file" in a read-only folder that exists) ended the command as
// STRATA_ERR_INTERNAL, the code of a bug in Strata, while the fix is another --data.
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true })
    // A folder that is there already on a read-only mount: SQLite's "unable to open database file".
    accessSync(dir, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new StrataError(
        ErrorCodes.INVALID_ARGUMENT,
        `${dir} is not a folder (a file is in the way): give --data (or --store) a folder`,
        { cause: error },
      )
    }
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOENT') {
      throw new StrataError(
        ErrorCodes.INVALID_ARGUMENT,
        `cannot create or write the folder ${dir} (${code === 'ENOENT' ? 'ENOENT: a read-only file system, or a parent that went away' : (error as Error).message}): give --data (or --store) a folder this process can write`,
        { cause: error },
      )
    }
    throw error
  }
}

/** A full disk (or quota), as the file system or SQLite (SQLITE_FULL, 13) says it. */
function isNoRoom(error: unknown): boolean {
  const { code, errcode } = error as { code?: string; errcode?: number }
  return code === 'ENOSPC' || code === 'EDQUOT' || (errcode !== undefined && (errcode & 0xff) === 13)
}

function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: number }).errcode
  // SQLITE_BUSY (5) and SQLITE_LOCKED (6); extended codes keep the primary code in the low byte.
  return code !== undefined ? [5, 6].includes(code & 0xff) : /database is locked/.test(String(error))
}
