// Loads a strata.config.ts (or .js/.mjs) with a dynamic import: Node 24 strips the types, so a
// TypeScript config runs as is. The module's default export (or a named `config` export) is
// validated with defineConfig whether or not the file called it, so nothing unvalidated runs.
//
// import() caches modules by URL: a process evaluates its config file once, and a later load of
// the same path returns that first evaluation even if the file was edited since. Batch worker
// threads evaluate the file afresh in their own isolates.
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { defineConfig, type StrataConfig } from './config.ts'
import { ErrorCodes, invalidInput, isStrataError } from './errors.ts'

export const DEFAULT_CONFIG_FILE = 'strata.config.ts'

export async function loadConfig(path: string = DEFAULT_CONFIG_FILE): Promise<StrataConfig> {
  const file = resolve(path)
  const url = pathToFileURL(file)
  try {
    await stat(file)
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
