// What is wrong, on the page as /health says it, in Debian's chromium (playwright-core): a role
// failed and one stalled show in red with their reasons beside the ones running well, and the
// banner lists, worst first, each thing /health reports as down — the failed roles, a store that
// cannot be read, a log whose retention deleted records the speed layer never read.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { RoleHealth } from '../../../src/core/role-health.ts'
import { createApp, listen } from '../../../src/serving/app.ts'
import type { Store } from '../../../src/store/store.ts'
import { launchBrowser } from '../../helpers/browser.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { config, mergedScenario, openStore } from '../fixture.ts'

declare const document: any
declare const getComputedStyle: any

const BATCH_REASON = `3 batch runs failed in a row: disk full [${ErrorCodes.STORE_UNAVAILABLE}]`
const SPEED_REASON = '12 commits failed in a row over 14 s: connection refused'

/** The store, with its reads of the speed layer's positions failing as a database that is down. */
function storeDown(store: Store): Store {
  return new Proxy(store, {
    get(target, name) {
      if (name === 'speedPartitions') return async () => Promise.reject(new Error('connection refused'))
      const value = Reflect.get(target, name, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

test('failed and stalled roles show in red with their reasons, and the banner lists what /health reports as down', async (t) => {
  const defer = deferrer(t)
  const store = await openStore(t)
  await mergedScenario(store)
  const roles = new RoleHealth()
  roles.add(() => ({ role: 'log', state: 'running' }))
  roles.add(() => ({ role: 'speed', state: 'stalled', reason: SPEED_REASON }))
  roles.add(() => ({ role: 'batch', state: 'failed', reason: BATCH_REASON }))
  const app = await createApp({
    config,
    store: storeDown(store),
    roles,
    endOffsets: async () => {
      throw Object.assign(new StrataError(ErrorCodes.RETENTION_OUTRAN, 'records deleted unread'), {
        lost: 1234,
      })
    },
  })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })

  const health = (await (await fetch(`${url}/health`)).json()) as any
  assert.equal(health.status, 'down')
  assert.deepEqual(
    health.roles.map((r: { role: string; state: string }) => [r.role, r.state]),
    [
      ['log', 'running'],
      ['speed', 'stalled'],
      ['batch', 'failed'],
    ],
  )

  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, colorScheme: 'dark' })
  await page.goto(`${url}/`)
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30_000 })
  await page.waitForSelector('#roles .role', { timeout: 30_000 })

  const shown = await page.evaluate(() => {
    const red = getComputedStyle(document.documentElement).getPropertyValue('--bad').trim()
    return {
      red,
      roles: [...document.querySelectorAll('#roles .role')].map((chip: any) => ({
        role: chip.dataset.role,
        state: chip.dataset.state,
        bad: chip.classList.contains('bad'),
        colour: getComputedStyle(chip).color,
        text: chip.textContent,
      })),
      banner: {
        hidden: document.getElementById('banner').hidden,
        problems: [...document.querySelectorAll('#banner .problem')].map((p: any) => ({
          level: p.dataset.level,
          colour: getComputedStyle(p).color,
          text: p.textContent,
        })),
      },
    }
  })
  // --bad is #f87171 in the dark theme: rgb(248, 113, 113).
  assert.equal(shown.red, '#f87171')
  const red = 'rgb(248, 113, 113)'
  const byRole = Object.fromEntries(shown.roles.map((r: any) => [r.role, r]))
  assert.deepEqual(Object.keys(byRole), ['log', 'speed', 'batch'])
  assert.equal(byRole.log.bad, false)
  assert.notEqual(byRole.log.colour, red)
  for (const [role, state, reason] of [
    ['speed', 'stalled', SPEED_REASON],
    ['batch', 'failed', BATCH_REASON],
  ]) {
    assert.equal(byRole[role].state, state)
    assert.equal(byRole[role].bad, true, `${role} is marked bad`)
    assert.equal(byRole[role].colour, red, `${role} is red`)
    assert.ok(byRole[role].text.includes(reason), `${role} says why: ${byRole[role].text}`)
  }

  assert.equal(shown.banner.hidden, false)
  const texts = shown.banner.problems.map((p: any) => p.text)
  assert.equal(texts.length, 4, texts.join('\n'))
  assert.ok(texts.includes(`speed stalled: ${SPEED_REASON}`), texts.join('\n'))
  assert.ok(texts.includes(`batch failed: ${BATCH_REASON}`), texts.join('\n'))
  assert.ok(
    texts.some((text: string) => text.startsWith('store: ') && text.includes('connection refused')),
    texts.join('\n'),
  )
  assert.ok(
    texts.some((text: string) =>
      text.includes(`${ErrorCodes.RETENTION_OUTRAN}: 1234 records deleted unread`),
    ),
    texts.join('\n'),
  )
  for (const p of shown.banner.problems) {
    assert.equal(p.level, 'bad', p.text)
    assert.equal(p.colour, red, `in red: ${p.text}`)
  }
})
