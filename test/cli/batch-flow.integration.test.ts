// Issue 3's flow through the command line, on real Kafka: events produced with `strata produce`,
// archived by `strata worker archiver`, `strata batch`, then `strata query` prints the exact
// hourly counts with the batch version and horizon; a changed view recomputes only itself.
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'
import { bin, hourlyCounts, pageViews, waitFor } from '../runtime/start-helpers.ts'

const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
const config = (
  topic: string,
  type: string,
) => `import { count, defineConfig, distinctCount, tumbling, view } from '${api}'
export default defineConfig({
  source: { topic: '${topic}', partitions: 2 },
  views: [
    view('pageviews_by_url').filter((e) => e.type === '${type}').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('unique_users_by_url').key((e) => e.url).window(tumbling('1d')).aggregate(distinctCount((e) => e.user)),
  ],
})
`

test('produce → archiver → strata batch → strata query, and a changed view alone recomputes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-cli-batch-'))
  const topic = `test-${randomUUID()}`
  const group = `test-archiver-${randomUUID()}`
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, config(topic, 'page_view'))
  const strata = (args: string[], input?: string) =>
    execFileSync(process.execPath, [bin, ...args], {
      input,
      encoding: 'utf8',
      env: { ...process.env, STRATA_BROKERS: brokers },
    })
  let archiver: ChildProcess | undefined
  t.after(async () => {
    archiver?.kill('SIGKILL')
    const admin = createAdmin({ brokers })
    await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })

  const events = pageViews(800, 3)
  const produced = JSON.parse(
    strata(
      ['produce', '--topic', topic, '--partitions', '2'],
      events.map((e) => JSON.stringify(e)).join('\n'),
    ),
  )
  assert.equal(produced.count, 800)

  // The archiver as its own process, in a consumer group of this test's own.
  const child = spawn(
    process.execPath,
    [
      bin,
      'worker',
      'archiver',
      '--config',
      configPath,
      '--data',
      dir,
      '--brokers',
      brokers,
      '--segment-age',
      '500ms',
      '--group',
      group,
    ],
    { stdio: 'ignore' },
  )
  archiver = child
  const master = join(dir, 'master', topic)
  const archived = async () => {
    let total = 0
    for (const p of ['p0000', 'p0001']) {
      const names = await readdir(join(master, p)).catch(() => [] as string[])
      for (const name of names) {
        const m = /^(\d{20})-(\d{20})\.ndjson$/.exec(name)
        if (m) total += Number(m[2]) - Number(m[1])
      }
    }
    return total
  }
  await waitFor(async () => (await archived()) === 800, 'the archiver to seal every offset', 60_000)

  const first = strata(['batch', '--config', configPath, '--data', dir, '--threads', '1'])
  assert.match(first, /pageviews_by_url: version 1/)
  assert.match(first, /unique_users_by_url: version 1/)
  const answer = JSON.parse(
    strata(['query', 'pageviews_by_url', '/a', '--config', configPath, '--data', dir]),
  )
  assert.equal(answer.batch.version, 1)
  assert.equal(
    answer.asOf.reduce((a: number, b: number) => a + b, 0),
    800,
  )
  assert.deepEqual(answer.batch.horizon, answer.asOf)
  assert.deepEqual(
    answer.windows.map((w: { windowStart: number; value: number }) => [w.windowStart, w.value]),
    hourlyCounts(events, '/a'),
  )

  // Change one view's definition: only it is recomputed.
  await writeFile(configPath, config(topic, 'click'))
  const second = strata(['batch', '--config', configPath, '--data', dir, '--threads', '1'])
  assert.match(second, /pageviews_by_url: version 2/)
  assert.doesNotMatch(second, /unique_users_by_url: version/)
  assert.match(second, /unchanged: unique_users_by_url/)
  const clicks = JSON.parse(
    strata(['query', 'pageviews_by_url', '/a', '--config', configPath, '--data', dir]),
  )
  const expected = hourlyCounts(
    events.map((e) => ({ ...e, type: e.type === 'click' ? 'page_view' : 'x' })),
    '/a',
  )
  assert.deepEqual(
    clicks.windows.map((w: { windowStart: number; value: number }) => [w.windowStart, w.value]),
    expected,
  )
})
