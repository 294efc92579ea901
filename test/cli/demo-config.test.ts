// Right after `npm start` (`strata start --demo`, the example's views), `strata query` and
// `strata batch` with no --config failed with "config file not found": they looked for
// ./strata.config.ts. The demo notes its config in the data folder; they use it and say so.
// And `strata query` on a folder with no data says so and exits 1, creating nothing.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { deferrer } from '../helpers/cleanup.ts'
import { bin, freePort } from '../helpers/process.ts'

const exampleConfig = join(import.meta.dirname, '../../examples/pageviews/strata.config.ts')

/** `strata <args>` in `cwd`, with no config or data from the environment running the suite. */
function run(cwd: string, args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STRATA_STORE: '', STRATA_BROKERS: '', STRATA_CONFIG: '', STRATA_DATA: '' },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, out: () => ({ stdout, stderr }) }
}

test('after strata start --demo, strata query and strata batch with no --config use the demo config', async (t) => {
  const defer = deferrer(t)
  const cwd = await mkdtemp(join(tmpdir(), 'strata-demo-config-'))
  defer(() => rm(cwd, { recursive: true, force: true }))
  const port = await freePort()
  const start = run(cwd, ['start', '--demo', '--port', String(port), '--batch-interval', '1h'])
  defer(() => start.child.kill('SIGKILL'))
  const deadline = Date.now() + 60_000
  let ingested = false
  while (!ingested && Date.now() < deadline) {
    // The speed layer has counted some of the demo's traffic.
    const res = await fetch(`http://127.0.0.1:${port}/views/pageviews_by_url/%2F`).catch(() => undefined)
    const asOf = res?.ok ? ((await res.json()) as { asOf: number[] }).asOf : []
    ingested = asOf.reduce((a, b) => a + b, 0) > 0
    if (!ingested) await new Promise((r) => setTimeout(r, 200))
  }
  assert.ok(ingested, `the demo took no traffic: ${start.out().stderr.slice(0, 3000)}`)
  start.child.kill('SIGINT')
  assert.equal(await start.exited, 0, JSON.stringify(start.out()))

  const query = run(cwd, ['query', 'pageviews_by_url', '/'])
  assert.equal(await query.exited, 0, JSON.stringify(query.out()))
  const answer = JSON.parse(query.out().stdout) as { asOf: number[] }
  assert.ok(answer.asOf.reduce((a, b) => a + b, 0) > 0, query.out().stdout)
  const said = query
    .out()
    .stderr.split('\n')
    .filter((line) => line.includes('no ./strata.config.ts here'))
  assert.equal(said.length, 1, query.out().stderr)
  assert.ok(said[0]!.includes(exampleConfig), said[0])
  assert.ok(said[0]!.includes('strata start --demo'), said[0])

  const batch = run(cwd, ['batch', '--threads', '1'])
  assert.equal(await batch.exited, 0, JSON.stringify(batch.out()))
  assert.match(batch.out().stdout, /events in .* s/)
})

test('strata query on a folder with no data: one line with STRATA_ERR_NO_DATA, exit 1, nothing created', async (t) => {
  const defer = deferrer(t)
  const cwd = await mkdtemp(join(tmpdir(), 'strata-no-data-'))
  defer(() => rm(cwd, { recursive: true, force: true }))
  const query = run(cwd, ['query', '--config', exampleConfig, 'pageviews_by_url', '/'])
  assert.equal(await query.exited, 1)
  const { stdout, stderr } = query.out()
  assert.equal(stdout, '', 'no answer')
  const data = join(cwd, '.strata/data')
  assert.equal(
    stderr,
    `strata: no data in ${data} (no store at ${join(data, 'store')}): give the data folder strata start wrote with --data DIR (or STRATA_DATA), or its store with --store; nothing was created [STRATA_ERR_NO_DATA]\n`,
  )
  assert.equal(existsSync(join(cwd, '.strata')), false, 'the query created a folder')

  const store = run(cwd, [
    'query',
    '--config',
    exampleConfig,
    '--store',
    'elsewhere',
    'pageviews_by_url',
    '/',
  ])
  assert.equal(await store.exited, 1)
  assert.match(store.out().stderr, /^strata: no store at \S+elsewhere: .*\[STRATA_ERR_NO_DATA\]\n$/)
  assert.equal(existsSync(join(cwd, 'elsewhere')), false)
})

test('strata query on a PostgreSQL schema Strata never wrote: STRATA_ERR_NO_DATA, no schema created', async (t) => {
  const defer = deferrer(t)
  const cwd = await mkdtemp(join(tmpdir(), 'strata-no-data-pg-'))
  defer(() => rm(cwd, { recursive: true, force: true }))
  const schema = `strata_nodata_${process.pid}_${Date.now()}`
  const url = `${process.env.STRATA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test'}?schema=${schema}`
  const query = run(cwd, ['query', '--config', exampleConfig, '--store', url, 'pageviews_by_url', '/'])
  assert.equal(await query.exited, 1)
  assert.match(
    query.out().stderr,
    new RegExp(`^strata: no Strata store in schema ${schema} of .*\\[STRATA_ERR_NO_DATA\\]\\n$`),
  )
  const client = new pg.Client({
    connectionString: process.env.STRATA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test',
  })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    assert.equal(found.rowCount, 0, 'the query created the schema')
  } finally {
    await client.end()
  }
})
