// A store ahead of its log (issue 11): the log lost records the store still counts (here, the
// master folder restored from an older copy: its active segment is shorter, at a line boundary,
// and its record of the acknowledged end is the copy's too, so the log itself sees nothing wrong).
// `strata start` must refuse, never serve those counts.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout } from 'node:timers/promises'
import { formatAcknowledgedEnd } from '../../src/log/embedded/acknowledged-end.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'
import { answer, covered, exampleConfig, pageViews, startStrata, waitFor } from './start-helpers.ts'

test('strata start refuses a store whose speed offsets are past the end of the log', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-ahead-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const args = ['--config', exampleConfig, '--data', dir, '--segment-age', '1h', '--batch-interval', '1h']
  const first = await startStrata(dir, args, 1)
  const events = pageViews(1000, 3)
  const res = await fetch(`${first.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
  assert.equal(res.status, 202)
  await waitFor(async () => covered(await answer(first.url, 'pageviews_by_url', '/a')) >= 1000, 'speed layer')
  first.child.kill('SIGTERM')
  await first.exited
  // The request went to one partition (keyless events stick to one): cut its log to 400 lines.
  const master = join(dir, 'master', 'events')
  let cut: number | undefined
  for (const name of await readdir(master)) {
    const active = join(master, name, '00000000000000000000.active')
    const lines = (await readFile(active, 'utf8').catch(() => '')).split('\n')
    if (lines.length < 1000) continue
    const older = lines.slice(0, 400).join('\n') + '\n'
    await writeFile(active, older)
    const bytes = Buffer.byteLength(older)
    await writeFile(
      join(master, name, 'acknowledged-end'),
      formatAcknowledgedEnd({ start: 0, end: 400, bytes }),
    )
    cut = Number(name.slice(1))
  }
  assert.notEqual(cut, undefined)

  const second = spawnStrata(['start', '--port', String(await freePort()), ...args])
  defer(() => second.child.kill('SIGKILL'))
  // Unref'd: a pending 30 s timer would otherwise hold this file open 30 s after its test passed.
  const code = await Promise.race([second.exited, setTimeout(30_000, 'still serving', { ref: false })])
  assert.notEqual(code, 'still serving', second.output())
  assert.notEqual(code, 0)
  assert.match(second.output(), /STRATA_ERR_STORE_AHEAD_OF_LOG/)
  assert.match(second.output(), new RegExp(`partition ${cut}: speed offset 1000, log ends at 400`))
  assert.match(second.output(), /Move the store aside/)
})
