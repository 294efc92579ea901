// Loads a strata.config.ts (or .js/.mjs) with a dynamic import: Node 24 strips the types, so a
// TypeScript config runs as is. The module's default export (or a named `config` export) is
// validated with defineConfig whether or not the file called it, so nothing unvalidated runs.
//
// import() caches modules by URL, so a long-running process (`strata worker batch` on a schedule)
// would never see an edited config. With { reload: true } the URL carries the file's mtime and
// size: an edited file is evaluated afresh, an unchanged one comes from the cache.
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { defineConfig, type StrataConfig } from './config.ts'
import { ErrorCodes, invalidInput, isStrataError } from './errors.ts'

export const DEFAULT_CONFIG_FILE = 'strata.config.ts'

export interface LoadConfigOptions {
  /** Re-evaluate the file when it changed since it was last imported. */
  reload?: boolean
}

export async function loadConfig(
  path: string = DEFAULT_CONFIG_FILE,
  options: LoadConfigOptions = {},
): Promise<StrataConfig> {
  const file = resolve(path)
  const url = pathToFileURL(file)
  try {
    const info = await stat(file)
    if (options.reload) url.search = `?mtime=${info.mtimeMs}&size=${info.size}`
  } catch (cause) {
    throw invalidInput(ErrorCodes.INVALID_CONFIG, `config file not found: ${file}`, {
      field: 'config',
      cause,
    })
  }
  let module: { default?: unknown; config?: unknown }
  try {
    module = await import(url.href)
  } catch (cause) {
    // Errors the config raised itself (a bad window, a view name) keep their code.
    if (isStrataError(cause)) throw cause
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw invalidInput(ErrorCodes.INVALID_CONFIG, `config file ${file} failed to load: ${reason}`, {
      field: 'config',
      cause,
    })
  }
  const exported = module.default ?? module.config
  if (exported === undefined) {
    throw invalidInput(ErrorCodes.INVALID_CONFIG, `config file ${file} has no default export`, {
      field: 'config',
    })
  }
  return defineConfig(exported as Parameters<typeof defineConfig>[0])
}
