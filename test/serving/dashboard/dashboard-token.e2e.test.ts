// The dashboard on a server that protects its queries (--protect-queries), in Debian's chromium
// (playwright-core): the page itself loads without a token, asks for it once when its data
// routes answer 401, and then goes live over the token-carrying stream; the view explorer's
// requests carry it too. With a wrong token it says so instead of going live.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { chromium } from 'playwright-core'
import { createApp, listen } from '../../../src/serving/app.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { config, mergedScenario, openStore } from '../fixture.ts'

const TOKEN = 'dashboard-token-0123456789'

test('with protected queries the dashboard asks for the token once and goes live', async (t) => {
  const defer = deferrer(t)
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await createApp({
    config,
    store,
    endOffsets: async () => [15, 6, 0, 0, 0, 0],
    auth: { token: TOKEN, protectQueries: true },
  })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-sync'],
  })
  defer(() => browser.close())

  const context = await browser.newContext()
  const page = await context.newPage()
  const prompts: string[] = []
  page.on('dialog', async (dialog) => {
    prompts.push(dialog.message())
    await dialog.accept(TOKEN)
  })
  const unauthorized: string[] = []
  const authorized: string[] = []
  page.on('request', async (request) => {
    const path = new URL(request.url()).pathname
    if (!path.startsWith('/views') && !path.startsWith('/dashboard/')) return
    ;(request.headers().authorization === `Bearer ${TOKEN}` ? authorized : unauthorized).push(path)
  })
  await page.goto(`${url}/`)
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30_000 })
  assert.equal(prompts.length, 1, `asked once: ${prompts.join(' | ')}`)
  assert.ok(
    authorized.includes('/dashboard/stream'),
    `the stream carried the token: ${authorized.join(', ')}`,
  )
  // The explorer lists the views the stream names.
  await page.waitForFunction(
    () => (globalThis as any).document.querySelectorAll('#explorer-view option').length > 0,
    null,
    { timeout: 30_000 },
  )
  // Without the token: the EventSource attempt and the first fetch, both of the stream, nothing else.
  assert.ok(
    unauthorized.length <= 2 && unauthorized.every((p) => p === '/dashboard/stream'),
    unauthorized.join(', '),
  )

  const wrong = await browser.newContext()
  const refused = await wrong.newPage()
  refused.on('dialog', (dialog) => dialog.accept('not-the-token'))
  await refused.goto(`${url}/`)
  await refused.waitForFunction(
    () => /token/.test((globalThis as any).document.getElementById('conn-text').textContent),
    null,
    { timeout: 30_000 },
  )
  assert.notEqual(await refused.getAttribute('#conn', 'data-state'), 'live')
})
