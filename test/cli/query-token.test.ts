// `strata query --url` against a server that protects its queries: it sends the token of
// STRATA_TOKEN (or STRATA_TOKEN_FILE), and without one it reports the server's 401.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { createApp, listen } from '../../src/serving/app.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { bin } from '../runtime/start-helpers.ts'
import { config, mergedScenario, openStore } from '../serving/fixture.ts'

const TOKEN = 'query-token-0123456789abcdef'

async function query(url: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin, 'query', 'pageviews_by_url', '/a', '--url', url], {
    env: { PATH: process.env.PATH, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, stdout, stderr }
}

test('strata query --url sends the token from the environment', async (t) => {
  const defer = deferrer(t)
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await createApp({ config, store, auth: { token: TOKEN, protectQueries: true } })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })

  const withToken = await query(url, { STRATA_TOKEN: TOKEN })
  assert.equal(withToken.code, 0, withToken.stderr)
  assert.equal(JSON.parse(withToken.stdout).view, 'pageviews_by_url')

  const without = await query(url, {})
  assert.equal(without.code, 1)
  assert.match(without.stderr, /STRATA_ERR_UNAUTHORIZED/)
})
