// Hazard: the process is frozen (SIGSTOP: a debugger, a cgroup freeze, a VM pause) with requests
// in flight, then thawed. Nothing may be lost or doubled, the requests in flight complete once
// it thaws, and afterwards it must make progress again (no stall behind a green /health): the
// answers cover every acknowledged event and a batch version does too.
import { join } from 'node:path'
import { freePort, spawnStrata } from '../../helpers/process.ts'
import { exampleConfig, HOUR, type PageView, pageViews } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase, type HazardContext, type HazardOutcome } from '../outcome.ts'

const URLS = ['/a', '/b', '/c', '/d']
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function post(base: string, events: PageView[]): Promise<boolean> {
  const res = await fetch(`${base}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
  return res.status === 202
}

async function counts(
  base: string,
): Promise<{ counts: Map<string, number>; covered: number; batch: boolean }> {
  const out = new Map<string, number>()
  let covered = Number.POSITIVE_INFINITY
  let batch = true
  for (const url of URLS) {
    const body = (await (
      await fetch(`${base}/views/pageviews_by_url/${encodeURIComponent(url)}`)
    ).json()) as {
      windows: { windowStart: number; value: number }[]
      asOf: number[]
      batch: { horizon: number[] } | null
    }
    covered = Math.min(
      covered,
      body.asOf.reduce((s, o) => s + o, 0),
    )
    batch &&= (body.batch?.horizon.reduce((s, o) => s + o, 0) ?? 0) > 0
    for (const w of body.windows) out.set(`${url} ${w.windowStart}`, w.value)
  }
  return { counts: out, covered, batch }
}

function reference(events: PageView[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const e of events) {
    if (e.type !== 'page_view') continue
    const key = `${e.url} ${Math.floor(e.ts / HOUR) * HOUR}`
    out.set(key, (out.get(key) ?? 0) + 1)
  }
  return out
}

const hazard: HazardCase = {
  name: 'sigstop-process',
  description: 'strata start frozen by SIGSTOP with requests in flight, then thawed',
  async run(context: HazardContext): Promise<HazardOutcome> {
    const outcome = emptyOutcome()
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const run = spawnStrata([
      'start',
      '--port',
      String(port),
      '--config',
      exampleConfig,
      '--data',
      join(context.dir, 'data'),
      '--batch-interval',
      '2s',
      '--segment-age',
      '1s',
    ])
    try {
      for (let up = false; !up; await sleep(200)) {
        if (run.child.exitCode !== null) throw new Error(`strata start exited: ${run.output()}`)
        up = (await fetch(`${base}/health`).catch(() => undefined))?.ok === true
      }
      const acknowledged: PageView[] = []
      const rounds = context.short ? 2 : 5
      const frozenMs = context.short ? 2_000 : 10_000
      for (let round = 0; round < rounds; round++) {
        const before = pageViews(200, 100 + round)
        if (await post(base, before)) acknowledged.push(...before)
        // Requests sent right before the freeze are in flight through it.
        const inFlight = Array.from({ length: 4 }, (_, i) => pageViews(50, 1000 * round + i))
        const answers = inFlight.map((events) => post(base, events).then((ok) => (ok ? events : [])))
        await sleep(20)
        run.child.kill('SIGSTOP')
        await sleep(frozenMs)
        run.child.kill('SIGCONT')
        for (const events of await Promise.all(answers)) acknowledged.push(...events)
        context.log(`round ${round}: frozen ${frozenMs} ms, ${acknowledged.length} acknowledged so far`)
      }
      outcome.acknowledged = acknowledged.length
      // Progress after the thaw: the answers catch up with every acknowledged event, and a batch
      // version covers some; a process that stays behind while /health says ok is a silent stall.
      const deadline = Date.now() + 60_000
      let seen = await counts(base)
      while ((seen.covered < acknowledged.length || !seen.batch) && Date.now() < deadline) {
        await sleep(250)
        seen = await counts(base)
      }
      if (seen.covered < acknowledged.length) {
        const health = await fetch(`${base}/health`)
        if (health.ok) outcome.silentStalls++
      }
      const want = reference(acknowledged)
      for (const [key, n] of want) {
        const got = seen.counts.get(key) ?? 0
        if (got < n) outcome.lost += n - got
        if (got > n) outcome.duplicated += got - n
      }
      for (const [key, got] of seen.counts) if (!want.has(key)) outcome.duplicated += got
      outcome.summary = `${rounds} freezes of ${frozenMs / 1000} s with 4 requests in flight each; ${acknowledged.length} acknowledged, answers ${seen.covered >= acknowledged.length ? 'caught up' : 'behind'}, batch ${seen.batch ? 'covering' : 'missing'}`
      return outcome
    } finally {
      run.child.kill('SIGCONT')
      run.child.kill('SIGKILL')
      await run.exited
    }
  },
}

export default hazard
