// The dashboard's files: its own page, script and style (public/, plain files, no build step)
// and uPlot's distribution from node_modules. Read once when the server starts, served from
// memory; a missing file fails the start, not the first visitor.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Asset {
  body: Buffer
  contentType: string
  /** Ours change with the code (revalidate); uPlot's only with the package version. */
  cacheControl: string
}

const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

function typeOf(file: string): string {
  return TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream'
}

/** Where uPlot's dist/ is (its package has no exports map; resolve its main entry). */
function uplotDist(): string {
  const require = createRequire(import.meta.url)
  return dirname(require.resolve('uplot'))
}

/** The page (`index.html`) and the files under /assets/, by name. */
export async function loadAssets(): Promise<{ page: Asset; assets: Map<string, Asset> }> {
  const own = ['dashboard.js', 'charts.js', 'explorer.js', 'format.js', 'dom.js', 'auth.js', 'dashboard.css']
  const dist = uplotDist()
  const third = [
    ['uplot.min.js', join(dist, 'uPlot.iife.min.js')],
    ['uplot.min.css', join(dist, 'uPlot.min.css')],
  ]
  const assets = new Map<string, Asset>()
  for (const name of own) {
    assets.set(name, {
      body: await readFile(join(PUBLIC, name)),
      contentType: typeOf(name),
      cacheControl: 'no-cache',
    })
  }
  for (const [name, path] of third) {
    assets.set(name, {
      body: await readFile(path),
      contentType: typeOf(name),
      cacheControl: 'public, max-age=86400',
    })
  }
  const page: Asset = {
    body: await readFile(join(PUBLIC, 'index.html')),
    contentType: typeOf('index.html'),
    cacheControl: 'no-cache',
  }
  return { page, assets }
}
