// A damaged LMDB file must end in a clear error, never a signal. LMDB maps data.mdb into memory
// and follows page numbers without checking them against the file: a page past the end of a
// truncated file is a SIGBUS, a wild pointer in a damaged page a SIGSEGV, and a signal kills the
// process without a word. So before lmdb-js maps the file in this process:
//
// 1. checkLmdbHeader (microseconds): both meta pages (pages 0 and 1) must carry LMDB's magic, their
//    own page number and the meta flag, and the file must hold every page they name (the last
//    used page and both tree roots). Catches truncation and damage to the meta pages. A file that
//    holds the roots but ends before the last used page is walked (step 2) before it is judged:
//    LMDB leaves freed tail pages unwritten.
// 2. walkLmdbStore (a child process): reads every key and value, so every branch, leaf and
//    overflow page is touched once. A damaged page kills or fails the child, not us. Measured in
//    docs/store-recovery.md: about a second per million rows. It also compares the rows read with
//    the count LMDB keeps: pages carry no checksum, and a damaged leaf may read short without an error.
//    Each value carries its own (lmdb-checksum.ts), which the walk checks: a changed byte in a value.
//
// What neither sees (a page damaged later, the free list, which only writes read) surfaces as an
// MDB_* error from an lmdb-js call; lmdb-guard.ts turns those into STRATA_ERR_STORE_CORRUPT.
import { spawn } from 'node:child_process'
import { open as openFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'

const MAGIC = 0xbeefc0de
const P_META = 0x08
const P_INVALID = 0xffffffffffffffffn
// Offsets inside a meta page: the 24-byte page header of lmdb-js's LMDB (page number, txnid, pad,
// flags, bounds), then MDB_meta (magic, version, address, map size, two MDB_db, last page, txnid).
const AT = {
  pgno: 0,
  flags: 18,
  magic: 24,
  psize: 48,
  freeRoot: 88,
  mainRoot: 136,
  lastPage: 144,
  txnid: 152,
}

export const STORE_RECOVERY =
  'stop every strata process using it, move the store folder aside (keep it for a post-mortem) and start again: the batch layer recomputes every view from the master dataset and the speed layer re-folds the log'

export function storeCorrupt(path: string, detail: string, cause?: unknown): StrataError {
  return new StrataError(
    ErrorCodes.STORE_CORRUPT,
    `the LMDB store at ${path} is damaged (${detail}); ${STORE_RECOVERY} (e.g. mv ${path} ${path}.damaged)`,
    { cause },
  )
}

interface Meta {
  lastPage: bigint
  roots: bigint[]
  txnid: bigint
}

/** How long a store that looks damaged is watched for growth before it is called damaged. */
export const LIVE_STORE_WAIT_MS = 250

/**
 * Throws STRATA_ERR_STORE_CORRUPT when data.mdb in `path` is truncated or not an LMDB file.
 * Returns whether there is a store to check further (false for a new one).
 *
 * The file is read without LMDB's locks, so another process creating or growing the store at that
 * moment (`strata batch` or `strata query` beside a `strata start` that is creating it) can be
 * caught mid-write, its meta pages naming pages not yet in the file. Damage stays put; a live
 * store grows: a file that changed size while we waited is looked at again (up to 3 times).
 */
export async function checkLmdbHeader(path: string, waitMs = LIVE_STORE_WAIT_MS): Promise<boolean> {
  for (let look = 1; ; look++) {
    const before = await sizeOf(path)
    try {
      return await checkHeaderOnce(path, before)
    } catch (error) {
      if (look >= 3 || !(error instanceof StrataError) || error.code !== ErrorCodes.STORE_CORRUPT) throw error
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      if ((await sizeOf(path)) !== before) continue
      // The roots are in the file, only the tail past them is not. LMDB does not write a page
      // freed in the transaction that allocated it (a "loose" page: mdb_page_flush skips it), so
      // a sound file can end before the last page a meta page counts — the speed log's folds, a
      // row written and dropped in one transaction, do that. Truncation or not, the walk tells:
      // it reads every page the trees reach, in a child process a missing page kills.
      if ((error as { shortTail?: boolean }).shortTail) {
        await walkLmdbStore(path)
        return true
      }
      throw error
    }
  }
}

function sizeOf(path: string): Promise<number | undefined> {
  return stat(join(path, 'data.mdb')).then(
    (s) => s.size,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    },
  )
}

async function checkHeaderOnce(path: string, size: number | undefined): Promise<boolean> {
  const file = join(path, 'data.mdb')
  // A new store (LMDB creates it), or one created but never written (a crash right after the
  // create): LMDB initializes it.
  if (size === undefined || size === 0) return false
  const handle = await openFile(file, 'r')
  try {
    const first = Buffer.alloc(512)
    const { bytesRead } = await handle.read(first, 0, first.length, 0)
    if (bytesRead < 160) throw storeCorrupt(path, `data.mdb is ${size} bytes, shorter than LMDB's meta page`)
    const psize = first.readUInt32LE(AT.psize)
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) {
      throw storeCorrupt(path, `meta page 0 names a page size of ${psize} bytes`)
    }
    if (size < 2 * psize)
      throw storeCorrupt(path, `data.mdb is ${size} bytes, shorter than its two meta pages`)
    const second = Buffer.alloc(512)
    await handle.read(second, 0, second.length, psize)
    const metas = [readMeta(path, first, 0), readMeta(path, second, 1)]
    for (const [i, meta] of metas.entries()) {
      for (const root of meta.roots) {
        if (root === P_INVALID) continue
        if (root > meta.lastPage) {
          throw storeCorrupt(
            path,
            `meta page ${i} names root page ${root}, past the last page ${meta.lastPage}`,
          )
        }
        const needed = (root + 1n) * BigInt(psize)
        if (BigInt(size) < needed) {
          throw storeCorrupt(
            path,
            `data.mdb is ${size} bytes but meta page ${i} names root page ${root}, which needs ${needed}: truncated`,
          )
        }
      }
    }
    for (const [i, meta] of metas.entries()) {
      const needed = (meta.lastPage + 1n) * BigInt(psize)
      if (BigInt(size) < needed) {
        const error = storeCorrupt(
          path,
          `data.mdb is ${size} bytes but meta page ${i} needs ${needed}: truncated`,
        )
        throw Object.assign(error, { shortTail: true })
      }
    }
  } finally {
    await handle.close()
  }
  return true
}

function readMeta(path: string, page: Buffer, n: number): Meta {
  const magic = page.readUInt32LE(AT.magic)
  if (magic !== MAGIC) throw storeCorrupt(path, `meta page ${n} has no LMDB magic (0x${magic.toString(16)})`)
  if (page.readBigUInt64LE(AT.pgno) !== BigInt(n) || (page.readUInt16LE(AT.flags) & P_META) === 0) {
    throw storeCorrupt(path, `page ${n} is not a meta page`)
  }
  return {
    lastPage: page.readBigUInt64LE(AT.lastPage),
    roots: [page.readBigUInt64LE(AT.freeRoot), page.readBigUInt64LE(AT.mainRoot)],
    txnid: page.readBigUInt64LE(AT.txnid),
  }
}

// .ts from the sources, .js from the built package (dist/): the build rewrites imports, not URLs.
const walker = new URL(import.meta.url.endsWith('.ts') ? './lmdb-walk.ts' : './lmdb-walk.js', import.meta.url)
  .pathname

/**
 * Reads every row of the store in a child process (where a SIGBUS or SIGSEGV from a damaged page
 * cannot hurt); throws STRATA_ERR_STORE_CORRUPT when the walk fails. Returns the rows read.
 */
export function walkLmdbStore(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [walker, path], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve(Number(out.trim()))
      const lines = err.trim().split('\n')
      const why = signal
        ? `reading it killed the integrity walk with ${signal}`
        : (lines.find((l) => l.includes('MDB_')) ?? lines[0])
      reject(storeCorrupt(path, why || `the integrity walk exited with ${code}`))
    })
  })
}
