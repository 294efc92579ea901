// A view whose code never returns on one event, in the embedded default (`strata start` with no
// --brokers): before session 14 the speed layer folded on the main thread, so that one event froze
// the whole process — POST /events, queries and /health got no answer, the log said nothing and
// SIGTERM did nothing; only kill -9 ended it (found from the user's seat, s13-user). Now the fold
// runs in a fold thread: the process answers, /health and the log name the view and the event,
// ingest goes on, SIGTERM ends it with exit 1 and a reason, and a restart with the view fixed
// counts every accepted event exactly once.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { deferrer } from '../helpers/cleanup.ts'
import { freePort, type SpawnedStrata, spawnStrata } from '../helpers/process.ts'

async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function ended(run: SpawnedStrata, timeoutMs: number): Promise<number | null> {
  const code = await Promise.race([
    run.exited,
    new Promise<'running'>((r) => setTimeout(r, timeoutMs, 'running').unref()),
  ])
  assert.notEqual(code, 'running', `still running after ${timeoutMs} ms: ${run.output()}`)
  return code as number | null
}

/** A request that must be answered (a frozen process answers nothing: the abort fails the test). */
async function ask(url: string, init?: RequestInit): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
}

function post(base: string, events: object[]): Promise<Response> {
  return ask(`${base}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
}

function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

test('embedded strata start: a view that never returns leaves the process answering, names the view, and SIGTERM ends it', {
  timeout: 600_000,
}, async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-view-hangs-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
  const hangFlag = join(dir, 'hang')
  const configPath = join(dir, 'strata.config.ts')
  // The same code both runs (a changed view would restart its state): it hangs only while the flag
  // file is there.
  await writeFile(
    configPath,
    `import { existsSync } from 'node:fs'
import { count, defineConfig, view } from '${api}'
export default defineConfig({
  source: { topic: 'hangs', partitions: 2 },
  views: [view('hangs').key((e) => { if (e.hang && existsSync(${JSON.stringify(hangFlag)})) for (;;) {} return e.url }).aggregate(count())],
})
`,
  )
  await writeFile(hangFlag, '')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const args = ['start', '--config', configPath, '--data', join(dir, 'data'), '--port', String(port)]
  // A hang timeout of 4 s (default 60 s): the speed layer says stalled 2 s after the hang, the
  // batch layer 4 s after its thread went silent, and SIGTERM ends a thread stuck that long. Batch
  // runs every 2 s on segments sealed after 1 s, so the first run to reach the hanging event
  // comes soon; after the restart the counts are batch ⊕ speed.
  const start = () => {
    const run = spawnStrata([
      ...args,
      '--hang-timeout',
      '4s',
      '--batch-interval',
      '2s',
      '--segment-age',
      '1s',
    ])
    defer(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await run.exited
    })
    return run
  }

  const first = start()
  await until(() => /ready: API on/.test(first.output()) || undefined, 'the first start to be ready')
  const event = (hang: boolean, i: number) => ({ url: '/a', ts: 1_700_000_000_000 + i, hang })
  assert.equal((await post(base, [event(false, 1), event(false, 2)])).status, 202)
  assert.equal((await post(base, [event(true, 3)])).status, 202)

  // /health answers, and once the fold has not come back for half the hang timeout says stalled
  // and names the view.
  const health = await until(async () => {
    const response = await ask(`${base}/health`)
    const body = (await response.json()) as { roles: Array<{ role: string; state: string }> }
    const speed = body.roles.find((r) => r.role === 'speed')
    return response.status === 503 && speed?.state === 'stalled' ? body : undefined
  }, '/health to say stalled')
  const speed = health.roles.find((r) => r.role === 'speed')
  assert.equal(speed?.state, 'stalled', JSON.stringify(health))
  assert.match(
    JSON.stringify(speed),
    /partition \d: view 'hangs' has not returned on the event at offset \d+/,
  )

  // Ingest goes on meanwhile, and queries answer.
  assert.equal((await post(base, [event(false, 4), event(false, 5)])).status, 202)
  assert.equal((await ask(`${base}/views/hangs/%2Fa`)).status, 200)

  // The log said so, in a structured line naming the view.
  const warned = await until(
    () =>
      logLines(first.output()).find(
        (l) =>
          l.level === 'warn' &&
          /^speed layer stalled: partition \d: view 'hangs' has not returned/.test(String(l.msg)),
      ),
    'the log to name the stuck view',
  )
  assert.ok(warned)

  // The batch layer's run on the sealed segment holding the event hangs on the same event in its
  // worker thread: /health says so, once it has been silent for the hang timeout.
  const batch = await until(async () => {
    const body = (await (await ask(`${base}/health`)).json()) as {
      roles: Array<{ role: string; state: string; reason?: string }>
    }
    const role = body.roles.find((r) => r.role === 'batch')
    return role?.state === 'stalled' ? role : undefined
  }, '/health to say the batch layer is stalled')
  assert.match(String(batch.reason), /thread folding partition \d has said nothing for \d+ s/)

  // SIGTERM ends it: the fold thread is ended once it has not answered for the close bound, exit 1.
  first.child.kill('SIGTERM')
  const code = await ended(first, 180_000)
  assert.equal(code, 1, first.output())
  assert.match(first.output(), /view 'hangs' has not returned on partition \d offset \d+/)
  assert.match(first.output(), /STRATA_ERR_SHUTTING_DOWN/)

  // Nothing accepted is lost: with the view fixed, the restart counts every event exactly once.
  await rm(hangFlag)
  const second = start()
  await until(() => /ready: API on/.test(second.output()) || undefined, 'the second start to be ready')
  const total = await until(async () => {
    const response = await ask(`${base}/views/hangs/%2Fa`)
    const body = (await response.json()) as { value?: number }
    return Number(body.value ?? 0) >= 5 ? Number(body.value) : undefined
  }, 'the five events to be counted')
  assert.equal(total, 5)
  second.child.kill('SIGTERM')
  assert.equal(await ended(second, 60_000), 0, second.output())
})
