// The name and version of the installed Strata, read from its package.json: the nearest one above
// this module. That is the repository's when run from src/, the package's when run from the built
// dist/ under node_modules (dist/ has none of its own). One read, at the first ask.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PackageInfo {
  name: string
  version: string
}

let cached: PackageInfo | undefined

export function packageInfo(): PackageInfo {
  if (cached) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const { name, version } = JSON.parse(readFileSync(file, 'utf8')) as PackageInfo
      cached = { name, version }
      return cached
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}
