// The programmatic API reads no environment variable (runtime/strata-options.ts): the CLI resolves
// flags and variables once and passes the result, so a program runs on what it passed. Here every
// variable the CLI reads is set to something that would break or change the run, and the API
// runs the embedded pipeline exactly as its options say. Plus the role checks and consumer groups.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { isStrataError, startStrata } from '../../src/index.ts'
import { checkRole, consumerGroups } from '../../src/runtime/strata-options.ts'
import { exampleConfig } from './start-helpers.ts'

test('startStrata does not read process.env: STRATA_* set to garbage change nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-api-env-'))
  const garbage: Record<string, string> = {
    STRATA_PORT: 'not-a-port',
    STRATA_HOST: 'nowhere.invalid',
    STRATA_BROKERS: '127.0.0.1:1',
    STRATA_CONFIG: join(dir, 'no-such.config.ts'),
    STRATA_DATA: join(dir, 'not-this-folder'),
    STRATA_STORE: 'postgres://nobody@127.0.0.1:1/nothing',
    STRATA_TOKEN: 'a-token-of-at-least-16-characters',
    STRATA_PROTECT_QUERIES: 'true',
    STRATA_ALLOWED_HOSTS: 'only.example.com',
  }
  const saved = Object.fromEntries(Object.keys(garbage).map((name) => [name, process.env[name]]))
  Object.assign(process.env, garbage)
  t.after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    await rm(dir, { recursive: true, force: true })
  })

  const strata = await startStrata({ config: exampleConfig, data: dir, port: 0 })
  t.after(() => strata.close())
  // Embedded (no Kafka at 127.0.0.1:1), on a free port, loopback, answering a loopback Host,
  // with no token, writing under `data` and its own store.
  assert.match(strata.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
  const posted = await fetch(`${strata.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'page_view', url: '/a', user: 'u1', ts: Date.UTC(2026, 0, 1, 10) }),
  })
  assert.equal(posted.status, 202, await posted.text())
  assert.equal((await fetch(`${strata.url}/views/pageviews_by_url/%2Fa`)).status, 200)
  await strata.close()
})

test('a role that cannot run on the options is refused before anything opens', () => {
  const refusal = (role: string, options: Parameters<typeof checkRole>[1]) => {
    try {
      checkRole(role, options)
    } catch (error) {
      assert.ok(isStrataError(error))
      return `${error.code}: ${error.message}`
    }
    return 'accepted'
  }
  assert.equal(refusal('all', {}), 'accepted')
  assert.equal(refusal('serve', {}), 'accepted')
  assert.equal(refusal('batch', {}), 'accepted')
  assert.equal(refusal('speed', { brokers: 'k:9092' }), 'accepted')
  assert.equal(refusal('serve', { brokers: 'k:9092', ingest: true }), 'accepted')
  assert.match(refusal('ingest', {}), /^STRATA_ERR_INVALID_ARGUMENT: unknown role "ingest"/)
  assert.match(refusal('speed', {}), /^STRATA_ERR_INVALID_ARGUMENT: strata worker speed reads Kafka/)
  assert.match(refusal('archiver', {}), /reads Kafka/)
  assert.match(refusal('serve', { ingest: true }), /--ingest writes to Kafka/)
  assert.match(
    refusal('all', { brokers: 'k:9092', ingest: true }),
    /--ingest is an option of strata worker serve/,
  )
})

test('consumer groups: one --group for a role, else <prefix>-speed and <prefix>-archiver', () => {
  assert.deepEqual(consumerGroups({}), { speed: 'strata-speed', archiver: 'strata-archiver' })
  assert.deepEqual(consumerGroups({ groupPrefix: 'shop' }), {
    speed: 'shop-speed',
    archiver: 'shop-archiver',
  })
  assert.deepEqual(consumerGroups({ group: 'g', groupPrefix: 'shop' }), { speed: 'g', archiver: 'g' })
})
