// Which store a URL names, and opening it: one place, so `strata start`, every other command and a
// program calling the API (strata.ts) agree. A folder or lmdb:PATH is the embedded LMDB store
// (walked for damage at open, core of issue 11); postgres://… is PostgreSQL, whose driver is
// loaded only then, so the embedded default never pays for it.
import { join, resolve } from 'node:path'
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import { redactUrl, registerUrlSecret, scrubSecrets } from '../core/secrets.ts'
import { openLmdbStore } from '../store/lmdb-store.ts'
import type { Store } from '../store/store.ts'
import { flushLogs } from './logger.ts'

export type { Store } from '../store/store.ts'

export interface OpenStoreOptions {
  /**
   * A damage found in the LMDB store while running. Default: one line with the code, exit 1 (not
   * a retry, the damage stays; not serving on, answers from a damaged store are not the views).
   */
  onCorrupt?: (error: Error) => void
  /** Open only a store that exists (a reader): a missing one is STRATA_ERR_NO_DATA, nothing is created. */
  existing?: boolean
  /**
   * PostgreSQL: how long to wait for the server's first answer (connect and a first query) before
   * STRATA_ERR_STORE_UNAVAILABLE; the migration after it is not bounded (store/postgres/first-answer.ts).
   */
  firstAnswerTimeoutMs?: number
  /** The --startup-timeout a message names when `firstAnswerTimeoutMs` is what is left of it. */
  startupTimeoutMs?: number
}

/** The LMDB folder a store URL names (undefined: a PostgreSQL URL); no URL: `<dataDir>/store`. */
export function lmdbPathOf(url: string | undefined, dataDir: string): string | undefined {
  if (url?.includes('://') && !url.startsWith('lmdb:')) return undefined
  return resolve(url?.replace(/^lmdb:(\/\/)?/, '') || join(dataDir, 'store'))
}

/**
 * Opens the store a URL names: a folder or `lmdb:PATH` (the embedded LMDB store), or
 * `postgres://user@host/db?schema=s` (PostgreSQL). The caller closes it.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  registerUrlSecret(url) // whatever prints later (logger, CLI errors) blanks its password
  const lmdbPath = lmdbPathOf(url, '.')
  if (lmdbPath !== undefined) {
    return openLmdbStore(lmdbPath, { walk: true, onCorrupt: options.onCorrupt ?? stopOnCorruptStore })
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresStore } = await import('../store/postgres/index.ts')
    return openPostgresStore(url, {
      ...(options.existing ? { existing: true } : {}),
      ...(options.firstAnswerTimeoutMs === undefined
        ? {}
        : { firstAnswerTimeoutMs: options.firstAnswerTimeoutMs }),
      ...(options.startupTimeoutMs === undefined ? {} : { startupTimeoutMs: options.startupTimeoutMs }),
    })
  }
  throw invalidInput(
    ErrorCodes.INVALID_ARGUMENT,
    `unsupported store URL ${redactUrl(url)}: use a path, lmdb:PATH or postgres://USER@HOST/DB`,
    { field: 'store' },
  )
}

function stopOnCorruptStore(error: Error): void {
  flushLogs() // the lines gathered before it, then this one, last
  console.error(scrubSecrets(`strata: ${error.message} [${ErrorCodes.STORE_CORRUPT}]`))
  process.exit(1)
}
