// Debian's chromium through playwright-core (no browser download), closed after the test.
import type { TestContext } from 'node:test'
import { type Browser, chromium } from 'playwright-core'

export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-sync'],
  })
  t.after(() => browser.close())
  return browser
}
