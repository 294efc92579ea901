// Loads a strata.config.ts (or .js/.mjs) with a dynamic import: Node 24 strips the types, so a
// TypeScript config runs as is. The module's default export (or a named `config` export) is
// validated with defineConfig whether or not the file called it, so nothing unvalidated runs.
//
// import() caches modules by URL: a process evaluates its config file once, and a later load of
// the same path returns that first evaluation even if the file was edited since. Batch worker
// threads evaluate the file afresh in their own isolates.
//
// A package.json saying "type": "commonjs" (what `npm init -y` writes since npm 10.9) makes Node
// load a .ts or .js file as CommonJS, where the import statements of the config `strata init`
// writes are a SyntaxError. A config written as a module is loaded as one whatever the package
// around it says (a load hook, asModule); a CommonJS config loads as before.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { findPackageJSON, registerHooks } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { defineConfig, type StrataConfig } from './config.ts'
import { ErrorCodes, invalidInput, isStrataError, StrataError } from './errors.ts'

export const DEFAULT_CONFIG_FILE = 'strata.config.ts'

export async function loadConfig(path: string = DEFAULT_CONFIG_FILE): Promise<StrataConfig> {
  const file = resolve(path)
  const url = pathToFileURL(file)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    // A newcomer's first `strata start` in a fresh project meets this: say how to get one.
    const how = '`strata init` writes one in the current folder; --config (or STRATA_CONFIG) names another'
    throw invalidInput(ErrorCodes.INVALID_CONFIG, `config file not found: ${file} (${how})`, {
      field: 'config',
      cause,
    })
  }
  if (MODULE_SYNTAX.test(text) && notSurelyModule(url)) loadAsModule(url.href)
  let module: { default?: unknown; config?: unknown }
  try {
    module = await import(url.href)
  } catch (cause) {
    // Errors the config raised itself (a bad window, a view name) keep their code, and gain the
    // file and line the config's code raised them at: "view name must be …" alone said not where.
    if (isStrataError(cause)) {
      const line = lineOf(file, cause)
      if (line === undefined) throw cause
      throw new StrataError(cause.code, `config file ${file}, line ${line}: ${cause.message}`, {
        field: cause.field ?? 'config',
        line,
        cause,
      })
    }
    const reason = cause instanceof Error ? cause.message : String(cause)
    const line = lineOf(file, cause)
    const where = line === undefined ? '' : ` (line ${line})`
    throw invalidInput(ErrorCodes.INVALID_CONFIG, `config file ${file} failed to load: ${reason}${where}`, {
      field: 'config',
      line,
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

/**
 * The line of the config an error points at, from its stack: a syntax error's starts with
 * `<file>:<line>` (the message alone, "Expected ',', got ']'", says not where), and an error the
 * config's code threw has a frame `file://<file>:<line>:<column>`.
 */
function lineOf(file: string, cause: unknown): number | undefined {
  const stack = cause instanceof Error ? (cause.stack ?? '') : ''
  const at = stack.indexOf(`${file}:`)
  if (at < 0) return undefined
  const line = /^\d+/.exec(stack.slice(at + file.length + 1))
  return line ? Number(line[0]) : undefined
}

/** A line starting with an import or export statement (not a dynamic `import(…)`). */
const MODULE_SYNTAX = /^[ \t]*(?:import|export)\b(?![ \t]*\()/m

/**
 * A .ts or .js file under a package.json without "type": "module": Node loads it as CommonJS, or
 * guesses from its syntax (and warns). Elsewhere (.mts, a module package) nothing is hooked.
 */
function notSurelyModule(url: URL): boolean {
  if (!/\.[jt]s$/.test(url.pathname)) return false
  const manifest = findPackageJSON(url)
  if (manifest === undefined) return true
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type !== 'module'
  } catch {
    return true
  }
}

/** The config files of this thread to load as modules even where Node would take CommonJS. */
const asModule = new Set<string>()

function loadAsModule(href: string): void {
  if (asModule.size === 0) {
    registerHooks({
      load(target, context, nextLoad) {
        if (!asModule.has(target)) return nextLoad(target, context)
        // Not through Node's own load: it would take the file as CommonJS, or guess and warn.
        const format = target.endsWith('.ts') ? 'module-typescript' : 'module'
        return { format, source: readFileSync(new URL(target)), shortCircuit: true }
      },
    })
  }
  asModule.add(href)
}
