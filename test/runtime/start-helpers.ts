// Running `strata start` as a real child process for end-to-end tests, and the plain reference
// the answers must equal.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

import { bin, freePort } from '../helpers/process.ts'

export { bin, freePort }
export const exampleConfig = fileURLToPath(
  new URL('../../examples/pageviews/strata.config.ts', import.meta.url),
)
export const HOUR = 3_600_000

export interface Started {
  child: ChildProcess
  url: string
  exited: Promise<number | null>
}

/** Starts `strata start <args>` and waits until /health answers. Output goes to <dir>/strata-<n>.log. */
export async function startStrata(dir: string, args: string[], n: number): Promise<Started> {
  const port = await freePort()
  const log = createWriteStream(join(dir, `strata-${n}.log`))
  const child = spawn(process.execPath, [bin, 'start', '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.pipe(log)
  child.stderr!.pipe(log)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  let exitCode: number | null | undefined
  exited.then((code) => {
    exitCode = code
  })
  await waitFor(
    async () => {
      if (exitCode !== undefined) {
        throw new Error(
          `strata start exited with ${exitCode}: ${readFileSync(join(dir, `strata-${n}.log`), 'utf8')}`,
        )
      }
      return (await fetch(`${url}/health`).catch(() => undefined))?.ok === true
    },
    `strata start (log ${dir}/strata-${n}.log)`,
    60_000,
  )
  return { child, url, exited }
}

export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export interface PageView {
  type: string
  url: string
  user: string
  ts: number
}

export function pageViews(n: number, seed: number): PageView[] {
  let x = seed
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
  const base = Date.UTC(2025, 10, 24, 10)
  return Array.from({ length: n }, () => ({
    type: rand() < 0.8 ? 'page_view' : 'click',
    url: ['/a', '/b', '/c', '/d'][Math.floor(rand() ** 2 * 4)],
    user: `u${Math.floor(rand() * 50)}`,
    ts: base + Math.floor(rand() * 3 * HOUR),
  }))
}

/** pageviews_by_url for one URL, computed plainly: [windowStart, count] ascending. */
export function hourlyCounts(events: PageView[], url: string): Array<[number, number]> {
  const counts = new Map<number, number>()
  for (const e of events) {
    if (e.type !== 'page_view' || e.url !== url) continue
    const hour = Math.floor(e.ts / HOUR) * HOUR
    counts.set(hour, (counts.get(hour) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => a[0] - b[0])
}

export interface Answer {
  windows: Array<{ windowStart: number; value: number }>
  asOf: number[]
  batch: { version: number } | null
}

export async function answer(url: string, view: string, key: string): Promise<Answer> {
  const res = await fetch(`${url}/views/${view}/${encodeURIComponent(key)}`)
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`)
  return (await res.json()) as Answer
}

export const windowsOf = (a: Answer) => a.windows.map((w) => [w.windowStart, w.value] as [number, number])
export const covered = (a: Answer) => a.asOf.reduce((s, o) => s + o, 0)

/** Writes a config with the one view these tests check, pageviews_by_url, on its own topic. */
export async function writePageviewsConfig(dir: string, topic: string, partitions: number): Promise<string> {
  const configPath = join(dir, 'strata.config.ts')
  const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
  await writeFile(
    configPath,
    `import { count, defineConfig, tumbling, view } from '${api}'
export default defineConfig({
  source: { topic: '${topic}', partitions: ${partitions} },
  views: [view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count())],
})
`,
  )
  return configPath
}

/** Lost and duplicated events of pageviews_by_url over these URLs against the acknowledged events. */
export async function lostAndDuplicated(
  url: string,
  acked: PageView[],
  urls: readonly string[] = ['/a', '/b', '/c', '/d'],
): Promise<{ lost: number; duplicated: number }> {
  let lost = 0
  let duplicated = 0
  for (const key of urls) {
    const got = new Map(windowsOf(await answer(url, 'pageviews_by_url', key)))
    const want = new Map(hourlyCounts(acked, key))
    for (const start of new Set([...got.keys(), ...want.keys()])) {
      const d = (want.get(start) ?? 0) - (got.get(start) ?? 0)
      if (d > 0) lost += d
      else duplicated -= d
    }
  }
  return { lost, duplicated }
}
