// Hazard: a second `strata start` on a data folder that a running one holds (issue 11: both
// answered 202, 12,084 acknowledged events then missing, every later batch run failed), and one
// that only shares the port (on main it claimed the speed partitions before dying on "port in
// use"). Played while clients post events: the second starts are refused (STRATA_ERR_DATA_LOCKED
// naming the holder's pid, STRATA_ERR_PORT_IN_USE), the first goes on; then kill -9 of the holder
// and a new start on the folder must serve exactly the acknowledged events.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort, type SpawnedStrata, spawnStrata } from '../../helpers/process.ts'
import { exampleConfig, HOUR, type PageView, pageViews } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase, type HazardContext, type HazardOutcome } from '../outcome.ts'

const URLS = ['/a', '/b', '/c', '/d']

async function startServing(args: string[], port: number): Promise<SpawnedStrata> {
  const run = spawnStrata(['start', '--port', String(port), ...args])
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`strata start exited: ${run.output()}`)
    const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined)
    if (res?.ok) return run
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`strata start did not serve: ${run.output()}`)
}

async function stop(run: SpawnedStrata, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (run.child.exitCode === null) run.child.kill(signal)
  await run.exited
}

/** Counts per (url, hour window) of the acknowledged page views: what the view must answer. */
function reference(events: PageView[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const e of events) {
    if (e.type !== 'page_view') continue
    const key = `${e.url} ${Math.floor(e.ts / HOUR) * HOUR}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** The answers once they cover every acknowledged offset (or the best seen within the time). */
async function answers(base: string, acknowledged: number): Promise<Map<string, number>> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const got = new Map<string, number>()
    let covered = Number.POSITIVE_INFINITY
    for (const url of URLS) {
      const res = await fetch(`${base}/views/pageviews_by_url/${encodeURIComponent(url)}`)
      const body = (await res.json()) as { windows: { windowStart: number; value: number }[]; asOf: number[] }
      covered = Math.min(
        covered,
        body.asOf.reduce((s, o) => s + o, 0),
      )
      for (const w of body.windows) got.set(`${url} ${w.windowStart}`, w.value)
    }
    if (covered >= acknowledged || Date.now() > deadline) return got
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function batchServed(base: string): Promise<boolean> {
  const res = await fetch(`${base}/views/pageviews_by_url/${encodeURIComponent('/a')}`).catch(() => undefined)
  return res?.ok === true && ((await res.json()) as { batch: unknown }).batch !== null
}

function compare(outcome: HazardOutcome, expected: Map<string, number>, got: Map<string, number>) {
  let lost = 0
  let duplicated = 0
  for (const key of new Set([...expected.keys(), ...got.keys()])) {
    const diff = (got.get(key) ?? 0) - (expected.get(key) ?? 0)
    if (diff < 0) lost -= diff
    else duplicated += diff
  }
  // Lost and duplicated page views; other events only count towards the offsets.
  outcome.lost = Math.max(outcome.lost, lost)
  outcome.duplicated = Math.max(outcome.duplicated, duplicated)
}

function refusalsOf(output: string, outcome: HazardOutcome): string[] {
  const codes = [...output.matchAll(/\[(STRATA_ERR_[A-Z_]+)\]/g)].map((m) => m[1])
  for (const code of codes) outcome.refusals[code] = (outcome.refusals[code] ?? 0) + 1
  return codes
}

const hazard: HazardCase = {
  name: 'second-process-same-data',
  description:
    'a second strata start on a data folder (or a port) a running one holds, while clients post events; then kill -9 of the holder and a restart',
  async run(context: HazardContext): Promise<HazardOutcome> {
    const outcome = emptyOutcome()
    const data = join(context.dir, 'data')
    const other = join(context.dir, 'other')
    await mkdir(data, { recursive: true })
    const args = (dir: string) => [
      '--config',
      exampleConfig,
      '--data',
      dir,
      '--segment-age',
      '1s',
      '--batch-interval',
      '3s',
    ]
    const port = await freePort()
    let first = await startServing(args(data), port)
    const base = `http://127.0.0.1:${port}`
    const events = pageViews(context.short ? 20_000 : 100_000, 42)
    const acknowledged: PageView[] = []
    let next = 0
    let sending = true
    const traffic = (async () => {
      while (sending && next < events.length) {
        const batch = events.slice(next, next + 250)
        next += batch.length
        const res = await fetch(`${base}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: batch.map((e) => JSON.stringify(e)).join('\n'),
        }).catch(() => undefined)
        await res?.text()
        if (res?.status === 202) acknowledged.push(...batch)
        await new Promise((r) => setTimeout(r, 25)) // paced: traffic lasts while the second starts run
      }
    })()
    const notes: string[] = []
    try {
      // The second starts, while the first takes traffic: same data on another port, same data
      // and port, another data folder on the same port.
      for (const [what, second] of [
        ['same data', ['--port', String(await freePort()), ...args(data)]],
        ['same data and port', ['--port', String(port), ...args(data)]],
        ['same port', ['--port', String(port), ...args(other)]],
      ] as const) {
        const run = spawnStrata(['start', ...second])
        // Refused, it exits at once; one that is still running after 20 s is serving as well.
        const code = await Promise.race([
          run.exited,
          new Promise<'running'>((r) => setTimeout(r, 20_000, 'running').unref()),
        ])
        if (code === 'running') {
          notes.push(`${what}: a second process served too`)
          await stop(run)
          continue
        }
        const codes = refusalsOf(run.output(), outcome)
        context.log(`${what}: exit ${code}, ${codes.join(', ') || run.output().slice(-300)}`)
        if (code !== 1 || codes.length !== 1) notes.push(`${what}: not refused (exit ${code})`)
      }
      sending = false
      await traffic
      compare(outcome, reference(acknowledged), await answers(base, acknowledged.length))
      // kill -9 of the holder: the OS releases the lock; a new start serves exactly what was
      // acknowledged.
      await stop(first, 'SIGKILL')
      first = await startServing(args(data), port)
      compare(outcome, reference(acknowledged), await answers(base, acknowledged.length))
      // The master dataset holds them too, ungarbled: once a batch run over it serves, the answers
      // (batch plus realtime) must still be exact.
      const deadline = Date.now() + 30_000
      while (Date.now() < deadline && !(await batchServed(base))) await new Promise((r) => setTimeout(r, 250))
      if (!(await batchServed(base))) notes.push('no batch run served within 30 s')
      compare(outcome, reference(acknowledged), await answers(base, acknowledged.length))
    } finally {
      sending = false
      await traffic
      await stop(first)
    }
    outcome.acknowledged = acknowledged.length
    outcome.summary =
      notes.join('; ') ||
      `3 second starts refused (${Object.entries(outcome.refusals)
        .map(([c, n]) => `${c} ×${n}`)
        .join(
          ', ',
        )}); the holder kept all ${acknowledged.length} acknowledged events, also after kill -9, a restart and a batch run over the master dataset`
    return outcome
  },
}

export default hazard
