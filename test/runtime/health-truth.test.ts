// /health used to say ok while batch runs failed for good. On `strata start` (embedded), a
// sealed segment deleted under the running process fails every batch run: within seconds the
// batch role is failed on /health (503), /health/live (503: a supervisor should restart it) and
// the dashboard's banner, with the code and the count of runs.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { launchBrowser } from '../helpers/browser.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { exampleConfig, pageViews, startStrata, waitFor } from './start-helpers.ts'

test('a batch layer that keeps failing makes /health 503 and shows on the dashboard', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-health-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const data = join(dir, 'data')
  const strata = await startStrata(
    dir,
    ['--config', exampleConfig, '--data', data, '--batch-interval', '1s', '--segment-age', '1s'],
    1,
  )
  defer(() => {
    strata.child.kill('SIGKILL')
  })
  const post = async (n: number, seed: number) => {
    const res = await fetch(`${strata.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: pageViews(n, seed)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    })
    assert.equal(res.status, 202)
  }
  await post(200, 1)
  await waitFor(async () => {
    const views = (await (await fetch(`${strata.url}/views`)).json()) as {
      views: Array<{ batch: { horizon: number[] } | null }>
    }
    return views.views.every((v) => (v.batch?.horizon ?? []).reduce((a, b) => a + b, 0) > 0)
  }, 'batch versions over sealed segments of every view')
  const health = async () => {
    const res = await fetch(`${strata.url}/health`)
    return { code: res.status, body: (await res.json()) as any }
  }
  assert.equal((await health()).code, 200)

  // A sealed segment disappears (an operator's rm, a bad sync): every later run must fail.
  const master = join(data, 'master', 'events')
  let removed = ''
  for (const p of (await readdir(master)).filter((d) => d.startsWith('p')).sort()) {
    const sealed = (await readdir(join(master, p))).filter((f) => f.endsWith('.ndjson')).sort()
    if (sealed.length > 0) {
      removed = join(master, p, sealed[0]!)
      break
    }
  }
  assert.ok(removed, 'a sealed segment to remove')
  await unlink(removed)
  // New data in every partition (keyless requests rotate), so the next runs must read it again.
  for (let i = 0; i < 12; i++) await post(20, 10 + i)

  let last: unknown
  await waitFor(
    async () => {
      const h = await health()
      last = h.body
      return h.code === 503
    },
    '/health to say the batch role failed',
    60_000,
  ).catch(async (error) => {
    const log = await readFile(join(dir, 'strata-1.log'), 'utf8').catch(() => '')
    throw new Error(`${error.message}; last /health: ${JSON.stringify(last)}; log:\n${log.slice(-3000)}`)
  })
  const down = await health()
  const batch = down.body.roles.find((r: { role: string }) => r.role === 'batch')
  assert.equal(batch.state, 'failed')
  assert.match(batch.reason, /3 batch runs failed in a row: .*STRATA_ERR_SEGMENT_CORRUPT/)
  assert.equal((await fetch(`${strata.url}/health/live`)).status, 503)
  assert.equal((await fetch(`${strata.url}/health/ready`)).status, 200, 'queries are still answered')
  const metrics = await (await fetch(`${strata.url}/metrics`)).text()
  assert.match(metrics, /strata_role_state\{role="batch",state="failed"\} 1/)
  assert.match(metrics, /strata_role_failures\{role="batch"\} [3-9]/)

  const page = await (await launchBrowser(t)).newPage()
  await page.goto(strata.url)
  await page.waitForSelector('#banner:not([hidden])', { timeout: 30_000 })
  assert.match((await page.textContent('#banner')) ?? '', /batch failed: .*STRATA_ERR_SEGMENT_CORRUPT/)
})
