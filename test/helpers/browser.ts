// Debian's chromium through playwright-core (no browser download), closed after the test.
import type { TestContext } from 'node:test'
import { type Browser, chromium } from 'playwright-core'
import { deferrer } from './cleanup.ts'

export async function launchBrowser(t: TestContext): Promise<Browser> {
  const defer = deferrer(t)
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-sync'],
  })
  defer(() => browser.close())
  return browser
}
