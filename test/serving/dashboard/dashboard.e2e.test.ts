// The dashboard end to end, in Debian's chromium (driven by playwright-core; no browser download):
// every layer runs as `strata start` runs them (the embedded log, the speed layer, scheduled batch
// runs, an LMDB store) on the example config plus two quantiles views (dashboard.config.ts), with
// page views sent over POST /events. The page loads, its charts fill with live data, the explorer
// answers a key with the value the API gives (and that the events sent make), quantiles are drawn
// as charts with figures to 3 significant digits, a page opened later starts on the history the
// server kept, a screenshot is taken (docs/dashboard.png with STRATA_UPDATE_SCREENSHOT=1), and a phone's width renders without
// horizontal scrolling.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import { createLogger } from '../../../src/runtime/logger.ts'
import { startPipeline } from '../../../src/runtime/pipeline.ts'
import { openLmdbStore } from '../../../src/store/lmdb-store.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import config from './dashboard.config.ts'

// Globals of the page, for the callbacks that page.evaluate runs there (the project's TypeScript
// lib has no DOM).
declare const window: any
declare const document: any

const CHROMIUM = '/usr/bin/chromium'
const CONFIG = fileURLToPath(new URL('./dashboard.config.ts', import.meta.url))
// The committed docs/dashboard.png is rewritten only on purpose (STRATA_UPDATE_SCREENSHOT=1):
// every run would otherwise leave a changed binary in the working tree.
const SCREENSHOT = process.env.STRATA_UPDATE_SCREENSHOT
  ? fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url))
  : join(tmpdir(), `strata-dashboard-${process.pid}.png`)
const HOUR = 3_600_000
const URLS = ['/home', '/pricing', '/docs', '/blog', '/about', '/home/1', '/docs/install']

/** Waits for a condition with a generous deadline (what is tested is the condition, not the time). */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, deadlineMs = 60_000) {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value as T
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * Page views at about 200 per second over POST /events, some of them late (up to three hours),
 * so a key has several hourly windows, each with its load time in ms (fractional, skewed: the
 * quantiles come out as long floats). Remembers the count per (url, window) it sent.
 */
function startTraffic(url: string) {
  const expected = new Map<string, number>()
  let seed = 7
  const random = () => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 2 ** 32
  }
  let sent = 0
  let stopped = false
  let failure: unknown
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now()
      const events = Array.from({ length: 20 }, () => {
        const u = random()
        const late = u < 0.06 ? random() * 3 * HOUR : u < 0.3 ? random() * HOUR : random() * 5000
        const event = {
          type: random() < 0.85 ? 'page_view' : 'click',
          url: URLS[Math.floor(random() ** 2.5 * URLS.length)],
          user: `u${Math.floor(random() ** 2 * 500)}`,
          ts: Math.floor(now - late),
          ms: 20 + random() ** 3 * 1500 + random(),
        }
        if (event.type === 'page_view') {
          const key = `${event.url}|${event.ts - (event.ts % HOUR)}`
          expected.set(key, (expected.get(key) ?? 0) + 1)
        }
        return event
      })
      const res = await fetch(`${url}/events`, {
        method: 'POST',
        signal: AbortSignal.timeout(30_000),
        headers: { 'content-type': 'application/x-ndjson' },
        body: events.map((e) => JSON.stringify(e)).join('\n'),
      })
      if (res.status !== 202) {
        failure = new Error(`POST /events answered ${res.status}: ${await res.text()}`)
        return
      }
      sent += events.length
      await sleep(100)
    }
  })()
  return {
    expected,
    get sent() {
      return sent
    },
    async stop() {
      stopped = true
      await loop
      if (failure) throw failure
    },
  }
}

const numberIn = (text: string | null) => Number((text ?? '').replaceAll(',', ''))

/** Significant digits of a figure as shown ("1,230" → 3, "0.0125" → 3, "45.6" → 3). */
const significant = (text: string) =>
  text.replaceAll(',', '').replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length

/** A figure shown to at most 3 significant digits, within rounding of the API's raw value. */
function assertRounded(shown: string, raw: number, what: string) {
  assert.match(shown, /^-?[\d,]+(\.\d+)?$/, `${what}: a plain figure, got "${shown}"`)
  assert.ok(significant(shown) <= 3, `${what}: "${shown}" has at most 3 significant digits`)
  const value = numberIn(shown)
  assert.ok(Math.abs(value - raw) <= Math.abs(raw) * 0.005 + 1e-9, `${what}: "${shown}" is ${raw} rounded`)
}

/** What the explorer's table shows, oldest window first. */
async function explorerRows(page: Page) {
  return page.$$eval('#explorer-windows tbody tr', (rows) =>
    rows
      .map((tr) => {
        const cells = tr.querySelectorAll('td')
        return {
          windowStart: Number(tr.getAttribute('data-window-start')),
          batch: cells[1].textContent,
          speed: cells[2].textContent,
          value: JSON.parse(cells[3].getAttribute('data-value') ?? 'null'),
        }
      })
      .reverse(),
  )
}

// A hang anywhere (the browser, a layer that does not stop) fails the test instead of the suite.
test('the dashboard fills with live data, its explorer answers as the API does, at laptop and phone widths', {
  timeout: 240_000,
}, async (t) => {
  const defer = deferrer(t)
  assert.ok(
    existsSync(CHROMIUM),
    `Debian's chromium is missing at ${CHROMIUM}: install it with \`npm run setup\` (apt-get install chromium); ` +
      'the dashboard test drives it with playwright-core and never downloads a browser',
  )
  const dir = await mkdtemp(join(tmpdir(), 'strata-dashboard-e2e-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(join(dir, 'store'))
  defer(() => store.close())
  const logs: string[] = []
  const pipeline = await startPipeline({
    config,
    configPath: CONFIG,
    masterRoot: join(dir, 'master', config.source.topic),
    store,
    logger: createLogger('strata', (line) => logs.push(line)),
    port: 0,
    batchIntervalMs: 4000,
    segmentAgeMs: 1000,
    demoRate: 0,
  })
  let pipelineOpen = true
  defer(async () => {
    if (pipelineOpen) await pipeline.close()
    const errors = logs.filter((line) => line.includes('"level":"error"'))
    if (errors.length > 0) t.diagnostic(`pipeline errors:\n${errors.join('\n')}`)
  })
  const api = async (path: string) => {
    const res = await fetch(`${pipeline.url}${path}`)
    assert.equal(res.status, 200, `${path}: ${res.status}`)
    return res.json() as Promise<any>
  }

  const traffic = startTraffic(pipeline.url)
  let trafficOn = true
  defer(async () => {
    if (trafficOn) await traffic.stop()
  })

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  defer(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, colorScheme: 'dark' })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
  await page.goto(`${pipeline.url}/`)
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30_000 })

  // The charts fill with live data: events per second drawn from ticks, a bar per partition.
  await page.waitForFunction(
    () => {
      const u = window.strata.charts.rate.u
      return u.data[1].filter((v: number | null) => v !== null && v > 0).length >= 3
    },
    null,
    { timeout: 60_000 },
  )
  const lagBars = await page.evaluate(() => window.strata.charts.lag.u.data[0].length)
  assert.equal(lagBars, config.source.partitions, 'one lag bar per partition')
  for (const chart of ['#chart-rate', '#chart-lag']) {
    const box = await page.locator(`${chart} canvas`).boundingBox()
    assert.ok(
      box && box.width > 200 && box.height > 100,
      `${chart} draws on a canvas: ${JSON.stringify(box)}`,
    )
  }
  const rate = numberIn(await page.textContent('#kpi-rate'))
  assert.ok(rate > 0, `events in per second: ${rate}`)
  // Batch runs complete on their schedule and are listed, one row per view.
  await page.waitForFunction(() => document.querySelectorAll('#batches tbody tr').length >= 3, null, {
    timeout: 60_000,
  })
  assert.match((await page.textContent('#kpi-batch')) ?? '', /^v\d+$/)
  assert.equal(await page.locator('#views tbody tr').count(), config.views.length)

  // The explorer: one key of a windowed count, every window, batch and speed parts told apart.
  await page.selectOption('#explorer-view', 'pageviews_by_url')
  await page.selectOption('#explorer-range', 'all')
  await page.fill('#explorer-key', '/home')
  await page.click('#explorer-form button[type="submit"]')
  // Live refreshes follow; wait until a window holds both parts (batch runs have covered some).
  await waitFor('a window of /home with a batch part and a speed part', async () => {
    const rows = await explorerRows(page)
    return rows.some((r) => numberIn(r.batch) > 0 && numberIn(r.speed) > 0) && rows.length >= 2
  })
  assert.equal(await page.getAttribute('#explorer-chart', 'data-stacked'), 'true')
  // For the screenshot: a few batch runs, some history on the rate chart, events coming in.
  await page.waitForFunction(
    () =>
      window.strata.charts.rate.u.data[0].length >= 20 &&
      window.strata.charts.rate.u.data[1].at(-1) > 0 &&
      Number(document.querySelector('#kpi-batch')?.textContent?.slice(1)) >= 3,
    null,
    { timeout: 60_000 },
  )
  await mkdir(join(SCREENSHOT, '..'), { recursive: true })
  await page.screenshot({ path: SCREENSHOT, fullPage: true })
  assert.ok(existsSync(SCREENSHOT), 'the screenshot was written')
  if (!process.env.STRATA_UPDATE_SCREENSHOT) await rm(SCREENSHOT, { force: true })

  // Stop the traffic and let every layer catch up: then answers are stable and comparable.
  await traffic.stop()
  trafficOn = false
  const settled = await waitFor('the speed layer to cover every event sent', async () => {
    const status = await api('/views')
    const sum = (offsets: number[]) => offsets.reduce((a, b) => a + b, 0)
    const ok = status.views.every(
      (v: any) => sum(v.asOf) === traffic.sent && v.lag.every((l: number) => l === 0),
    )
    return ok ? status : undefined
  })
  const asOf = settled.views[0].asOf

  await page.click('#explorer-form button[type="submit"]')
  await waitFor('the explorer to answer as of every event sent', async () => {
    const shown = await page.getAttribute('#explorer-summary', 'data-as-of')
    return shown === JSON.stringify(asOf)
  })
  const rows = await explorerRows(page)
  const answer = await api('/views/pageviews_by_url/%2Fhome?parts=true')
  assert.deepEqual(answer.asOf, asOf)
  assert.deepEqual(
    rows.map((r) => [r.windowStart, r.value]),
    answer.windows.map((w: any) => [w.windowStart, w.value]),
    'the explorer shows the API answer, window by window',
  )
  const sent = [...traffic.expected]
    .filter(([key]) => key.startsWith('/home|'))
    .map(([key, n]) => [Number(key.split('|')[1]), n])
    .sort((a, b) => a[0] - b[0])
  assert.deepEqual(
    rows.map((r) => [r.windowStart, r.value]),
    sent,
    'and the API answer is the page views sent, each counted once',
  )
  for (const r of rows) assert.equal(numberIn(r.batch) + numberIn(r.speed), r.value, 'batch + speed = merged')
  const drawn = await page.evaluate(() => window.strata.explorer.chart.u.data)
  assert.deepEqual(
    drawn[1],
    rows.map((r) => r.value),
    'the stacked bars reach the merged values',
  )

  // An unwindowed top-k: the ranking on the page is the API's value.
  await page.selectOption('#explorer-view', 'top_urls')
  const topShown = await waitFor('the top_urls ranking', async () => {
    const value = await page.getAttribute('#explorer-value', 'data-value')
    return value ? JSON.parse(value) : undefined
  })
  assert.equal(await page.inputValue('#explorer-key'), 'all', 'the key list offers the one key there is')
  assert.deepEqual(topShown, (await api('/views/top_urls/all')).value)
  assert.equal(await page.locator('#explorer-value .ranking li').count(), topShown.items.length)

  // The roles of the process, each with its state: all well here.
  const roles = await page.$$eval('#roles .role', (chips) =>
    chips.map((c) => ({ role: c.getAttribute('data-role'), state: c.getAttribute('data-state') })),
  )
  assert.ok(roles.length >= 2, `the roles are shown: ${JSON.stringify(roles)}`)
  assert.ok(
    roles.every((r) => ['running', 'catching-up', 'starting'].includes(r.state ?? '')),
    JSON.stringify(roles),
  )
  assert.equal(await page.locator('#roles .role.bad').count(), 0)

  // A hopping window shows its size and its advance, in the views table and the explorer's list.
  const hoppingRow = await page.locator('#views tbody tr', { hasText: 'load_ms_by_url' }).textContent()
  assert.match(hoppingRow ?? '', /quantiles · hopping 1 h every 15 min/)
  assert.match(
    (await page.locator('#explorer-view option[value="load_ms_by_url"]').textContent()) ?? '',
    /hopping 1 h every 15 min/,
  )

  // A windowed quantiles view: a line per quantile across the windows, figures rounded.
  await page.selectOption('#explorer-view', 'load_ms_by_url')
  // A new view asks its first key by itself: let that answer come before asking ours.
  await page.waitForFunction(() => window.strata.explorer.answer?.view === 'load_ms_by_url', null, {
    timeout: 30_000,
  })
  await page.selectOption('#explorer-range', 'all')
  await page.fill('#explorer-key', '/home')
  await page.click('#explorer-form button[type="submit"]')
  await page.waitForSelector('#explorer-chart[data-kind="quantiles"] canvas', { timeout: 30_000 })
  const quantileAnswer = await waitFor('the explorer and the API to agree on /home', async () => {
    const api_ = await api('/views/load_ms_by_url/%2Fhome?parts=true')
    const shown = await page.evaluate(() => ({
      key: window.strata.explorer.answer?.key,
      lines: window.strata.explorer.chart.u.data,
    }))
    const lines = shown.lines
    const same =
      shown.key === '/home' &&
      lines.length === 4 &&
      JSON.stringify(lines[1]) === JSON.stringify(api_.windows.map((w: any) => w.value.p50))
    return same ? api_ : undefined
  })
  const lines = await page.evaluate(() => window.strata.explorer.chart.u.data)
  assert.deepEqual(
    lines[3],
    quantileAnswer.windows.map((w: any) => w.value.p99),
    'p99 drawn as the API answers',
  )
  const latest = quantileAnswer.windows.at(-1).value
  assert.ok(
    ['p50', 'p90', 'p99'].some((q) => significant(String(latest[q])) > 3),
    `the API's figures are unrounded: ${JSON.stringify(latest)}`,
  )
  const legend = await page.$$eval('#explorer-legend .legend-item', (items) =>
    items.map((i) => [i.querySelector('.legend-label')?.textContent, i.querySelector('strong')?.textContent]),
  )
  assert.deepEqual(
    legend.map(([name]) => name),
    ['p50', 'p90', 'p99', 'values'],
  )
  for (const [name, shown] of legend.slice(0, 3))
    assertRounded(shown ?? '', latest[name ?? ''], `legend ${name}`)
  // The table: the merged figures, rounded; each part says how many values it holds.
  const newest = await page.$$eval('#explorer-windows tbody tr:first-child td', (cells) =>
    cells.map((c) => c.textContent ?? ''),
  )
  for (const part of newest[3].split(' · ')) {
    const [name, shown] = part.split(' ')
    assertRounded(shown, latest[name], `table ${name}`)
  }
  assert.match(newest[1], /^n [\d,]+$/)
  assert.match(newest[2], /^n [\d,]+$/)

  // A quantiles view over all time: the distribution as bars, min to max, figures rounded.
  await page.selectOption('#explorer-view', 'load_ms')
  await page.waitForSelector('#explorer-chart[data-kind="distribution"] canvas', { timeout: 30_000 })
  const distribution = await page.evaluate(() => ({
    labels: window.strata.explorer.labels,
    data: window.strata.explorer.chart.u.data,
    value: JSON.parse(document.querySelector('#explorer-value').getAttribute('data-value')),
    legend: [...document.querySelectorAll('#explorer-legend .legend-item')].map((i: any) => [
      i.querySelector('.legend-label').textContent,
      i.querySelector('strong').textContent,
    ]),
  }))
  assert.deepEqual(distribution.labels, ['min', 'p50', 'p90', 'p95', 'p99', 'max'])
  assert.deepEqual(
    distribution.data[1],
    distribution.labels.map((name: string) => distribution.value[name]),
    'a bar per figure of the value',
  )
  assert.deepEqual(
    distribution.legend.map(([name]: string[]) => name),
    distribution.labels,
  )
  for (const [name, shown] of distribution.legend)
    assertRounded(shown, distribution.value[name], `distribution ${name}`)

  // A page opened now starts on the server's history, before its first tick; so does the API.
  const history = await api('/dashboard/history')
  assert.ok(history.points.length >= 20, `the server kept ${history.points.length} points`)
  const second = await browser.newPage({ viewport: { width: 1366, height: 900 }, colorScheme: 'dark' })
  await second.goto(`${pipeline.url}/`)
  await second.waitForSelector('#conn[data-state="live"]', { timeout: 30_000 })
  const opened = await second.evaluate(() => ({
    history: window.strata.state.historyPoints,
    drawn: window.strata.charts.rate.u.data[0].length,
  }))
  assert.ok(opened.history >= 20, `hello brought ${opened.history} points of history`)
  assert.ok(opened.drawn >= opened.history, `the chart opened with them: ${opened.drawn}`)
  await second.close()

  // A phone's width: everything reflows into one column, charts shrink, nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 })
  await page.selectOption('#explorer-view', 'pageviews_by_url')
  await page.waitForSelector('#explorer-chart canvas')
  const overflow = await waitFor(
    'the page to fit a 390 px screen',
    async () => {
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        canvases: [...document.querySelectorAll('canvas')].map((c) => c.getBoundingClientRect().right),
      }))
      const fits =
        widths.page <= widths.viewport && widths.canvases.every((right) => right <= widths.viewport)
      return fits ? widths : undefined
    },
    15_000,
  )
  assert.equal(overflow.viewport, 390)

  assert.deepEqual(pageErrors, [], 'no script errors and no failed requests on the page')

  // Closing the server with the page still open must not hang on its stream.
  let closed = false
  const closing = pipeline.close().then(() => {
    closed = true
  })
  pipelineOpen = false
  await waitFor('every layer to stop with the page still open', async () => closed, 30_000)
  await closing
})
