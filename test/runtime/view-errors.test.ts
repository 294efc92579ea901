// A view whose code throws on some events (issue 12, item 3): on `strata start` (embedded), the
// event is skipped by that view only, in the speed layer and the batch layer alike; the other
// views count everything; the errors are listed at GET /views/:view/errors, counted in /views and
// /metrics; a view failing on most events shows as failing on /health; a view defined with
// onError('stop') stops its partition with STRATA_ERR_VIEW_FAILED naming view and offset.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { launchBrowser } from '../helpers/browser.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { startStrata, waitFor } from './start-helpers.ts'

const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

async function writeConfig(dir: string, policy: 'skip' | 'stop'): Promise<string> {
  const path = join(dir, 'strata.config.ts')
  await writeFile(
    path,
    `import { count, defineConfig, view } from '${api}'
export default defineConfig({
  source: { topic: 'events', partitions: 2 },
  views: [
    view('all_events').key(() => 'all').aggregate(count()),
    view('by_country').key((e) => e.country.toUpperCase()).aggregate(count())${policy === 'stop' ? ".onError('stop')" : ''},
  ],
})
`,
  )
  return path
}

async function post(url: string, events: object[]): Promise<void> {
  const response = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
  assert.equal(response.status, 202, await response.text())
}

async function get(url: string, path: string): Promise<any> {
  const response = await fetch(`${url}${path}`)
  return { status: response.status, body: await response.json() }
}

const good = (i: number) => ({ ts: 1_700_000_000_000 + i, country: i % 2 === 0 ? 'fr' : 'de', user: `u${i}` })
const bad = (i: number) => ({ ts: 1_700_000_000_000 + i, user: `u${i}` })

test('a view that throws skips those events only, in both layers, and says so', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-view-errors-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const config = await writeConfig(dir, 'skip')
  const strata = await startStrata(
    dir,
    ['--config', config, '--data', join(dir, 'data'), '--batch-interval', '1s', '--segment-age', '1s'],
    1,
  )
  defer(() => {
    strata.child.kill('SIGKILL')
  })
  const events = [
    ...Array.from({ length: 40 }, (_, i) => good(i)),
    ...Array.from({ length: 5 }, (_, i) => bad(100 + i)),
  ]
  await post(strata.url, events)

  // The speed layer first: every event in all_events, the good ones in by_country.
  await waitFor(
    async () => (await get(strata.url, '/views/all_events/all')).body.value === 45,
    'speed all_events',
  )
  const fr = await get(strata.url, '/views/by_country/FR')
  const de = await get(strata.url, '/views/by_country/DE')
  assert.equal(fr.body.value + de.body.value, 40)
  const speedErrors = (await get(strata.url, '/views/by_country/errors')).body
  assert.equal(speedErrors.speed.count, 5)
  assert.equal(speedErrors.state, 'ok')
  for (const e of speedErrors.speed.recent) {
    assert.equal(e.view, 'by_country')
    assert.equal(typeof e.partition, 'number')
    assert.equal(typeof e.offset, 'number')
    assert.match(e.message, /TypeError/)
  }
  assert.equal((await get(strata.url, '/views/all_events/errors')).body.speed.count, 0)

  // Then a batch version covers them: same answers, the errors recorded with the version.
  await waitFor(
    async () => (await get(strata.url, '/views/by_country/errors')).body.batch?.events === 45,
    'a batch version over all 45 events',
  )
  const batchErrors = (await get(strata.url, '/views/by_country/errors')).body
  assert.equal(batchErrors.batch.count, 5)
  assert.deepEqual(
    batchErrors.batch.recent
      .map((e: { offset: number; partition: number }) => `${e.partition}:${e.offset}`)
      .sort(),
    speedErrors.speed.recent
      .map((e: { offset: number; partition: number }) => `${e.partition}:${e.offset}`)
      .sort(),
  )
  assert.equal((await get(strata.url, '/views/by_country/FR')).body.value, fr.body.value)
  assert.equal((await get(strata.url, '/views/all_events/all')).body.value, 45)

  const views = (await get(strata.url, '/views')).body.views
  const byCountry = views.find((v: { name: string }) => v.name === 'by_country')
  assert.deepEqual(byCountry.errors, { batch: 5, speed: 5 })
  assert.equal(byCountry.state, 'ok')
  const metrics = await (await fetch(`${strata.url}/metrics`)).text()
  assert.match(metrics, /strata_view_errors\{view="by_country",layer="speed"\} 5/)
  assert.equal((await get(strata.url, '/health')).body.status, 'ok')
  const log = await readFile(join(dir, 'strata-1.log'), 'utf8')
  assert.match(log, /view 'by_country': its code threw on \d+ events \(speed layer\)/)
  assert.match(log, /view 'by_country': its code threw on 5 events \(batch layer\)/)

  // A flood of events the view cannot read: failing, on /views, /health and /metrics.
  await post(
    strata.url,
    Array.from({ length: 60 }, (_, i) => bad(200 + i)),
  )
  await waitFor(async () => (await get(strata.url, '/health')).body.status === 'degraded', '/health degraded')
  const health = (await get(strata.url, '/health')).body
  assert.deepEqual(health.parts.views, { status: 'failing', views: ['by_country'] })
  assert.equal((await get(strata.url, '/views/by_country/errors')).body.state, 'failing')
  assert.match(
    await (await fetch(`${strata.url}/metrics`)).text(),
    /strata_view_failing\{view="by_country"\} 1/,
  )
  assert.equal((await get(strata.url, '/views/all_events/all')).body.value >= 45, true)

  // The dashboard says so too: a banner naming the view, and its row marked failing.
  const page = await (await launchBrowser(t)).newPage()
  await page.goto(strata.url)
  await page.waitForSelector('#banner:not([hidden])', { timeout: 30_000 })
  assert.match((await page.textContent('#banner')) ?? '', /failing: by_country/)
  const row = page.locator('#views tbody tr', { hasText: 'by_country' })
  assert.match((await row.textContent()) ?? '', /failing/)
})

test("a view defined with onError('stop') stops its partition with STRATA_ERR_VIEW_FAILED naming view and offset, and the view says it stopped", async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-view-stop-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const config = await writeConfig(dir, 'stop')
  const strata = await startStrata(
    dir,
    ['--config', config, '--data', join(dir, 'data'), '--batch-interval', '1s', '--segment-age', '1s'],
    1,
  )
  const output: string[] = []
  strata.child.stdout?.on('data', (c) => output.push(String(c)))
  strata.child.stderr?.on('data', (c) => output.push(String(c)))
  defer(() => {
    strata.child.kill('SIGKILL')
  })
  await post(strata.url, [good(1), bad(2)])
  await waitFor(
    async () => /STRATA_ERR_VIEW_FAILED/.test(output.join('')),
    'the view failure in the log',
    20_000,
  )
  const line =
    output
      .join('')
      .split('\n')
      .find((l) => l.includes('STRATA_ERR_VIEW_FAILED')) ?? ''
  assert.match(line, /view 'by_country' threw on partition \d+ offset \d+: TypeError/)
  const [, partition, offset] = /partition (\d+) offset (\d+)/.exec(line) ?? []
  const where = { view: 'by_country', partition: Number(partition), offset: Number(offset) }

  // Where a user looks for the view: stopped, where and why, counted (not 'ok' with 0 errors).
  const byCountry = async () =>
    (await get(strata.url, '/views')).body.views.find((v: { name: string }) => v.name === 'by_country')
  await waitFor(async () => (await byCountry()).state === 'stopped', '/views says by_country stopped')
  const status = await byCountry()
  const speedStop = status.stops.find((s: { layer: string }) => s.layer === 'speed')
  assert.deepEqual({ ...speedStop, message: undefined }, { ...where, layer: 'speed', message: undefined })
  assert.match(speedStop.message, /^TypeError/)
  assert.equal(status.errors.speed >= 1, true)
  const allEvents = (await get(strata.url, '/views')).body.views.find(
    (v: { name: string }) => v.name === 'all_events',
  )
  assert.equal(allEvents.state, 'ok')
  const errors = (await get(strata.url, '/views/by_country/errors')).body
  assert.equal(errors.state, 'stopped')
  assert.equal(errors.onError, 'stop')
  assert.equal(errors.speed.count >= 1, true)
  assert.deepEqual(
    errors.speed.recent.map((e: { partition: number; offset: number }) => `${e.partition}:${e.offset}`),
    [`${where.partition}:${where.offset}`],
  )
  assert.match(
    await (await fetch(`${strata.url}/metrics`)).text(),
    /strata_view_stopped\{view="by_country"\} 1/,
  )
  assert.equal((await get(strata.url, '/health')).status, 503)

  // The batch run stops on the same event: /views says so too.
  await waitFor(
    async () => (await byCountry()).stops.some((s: { layer: string }) => s.layer === 'batch'),
    'the batch run stopped by by_country',
    60_000,
  )
  const batchStop = (await byCountry()).stops.find((s: { layer: string }) => s.layer === 'batch')
  assert.deepEqual({ ...batchStop, message: undefined }, { ...where, layer: 'batch', message: undefined })

  // The dashboard: the view's row says stopped (in red, like failing), and a banner says where.
  const page = await (await launchBrowser(t)).newPage()
  await page.goto(strata.url)
  await page.waitForSelector('#banner:not([hidden])', { timeout: 30_000 })
  assert.match(
    (await page.textContent('#banner')) ?? '',
    new RegExp(
      `stopped: view 'by_country' .*threw and stopped .*speed partition ${where.partition} at offset ${where.offset}`,
    ),
  )
  const row = page.locator('#views tbody tr', { hasText: 'by_country' })
  const pill = row.locator('.pill.bad')
  assert.equal(await pill.textContent(), 'stopped')
})
