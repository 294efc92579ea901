// A lone speed role (`strata worker speed`) that a view with onError('stop') failed exits 1 so
// that its supervisor restarts it. The stop is recorded in the store (every serving process says
// the view stopped) while the role is already failed; before, the exit came at the watch's next
// check whatever the store was doing, and a stop still being written (a PostgreSQL round trip,
// a busy disk: 6 s here) was lost. Now the role closes first, which waits for it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createAdmin, createProducer } from '../../src/log/kafka/index.ts'
import { type Heartbeat, judgeHeartbeats } from '../../src/runtime/role-heartbeat.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'

const src = (path: string) => pathToFileURL(join(import.meta.dirname, '../../src', path)).href

// The speed role alone (the pipeline `strata worker speed` runs), on a store whose recording of
// a view stop takes 6 s.
const role = `
import { loadConfig } from '${src('core/config-loader.ts')}'
import { createLogger } from '${src('runtime/logger.ts')}'
import { startRoles } from '${src('runtime/pipeline.ts')}'
import { openLmdbStore } from '${src('store/lmdb-store.ts')}'
const [configPath, dir, brokers, group] = process.argv.slice(2)
const store = await openLmdbStore(dir + '/store')
const slow = new Proxy(store, {
  get(target, name) {
    if (name === 'recordViewStop')
      return async (failure) => { await new Promise((r) => setTimeout(r, 6000)); return target.recordViewStop(failure) }
    const value = Reflect.get(target, name)
    return typeof value === 'function' ? value.bind(target) : value
  },
})
await startRoles({
  run: 'speed', config: await loadConfig(configPath), configPath, masterRoot: dir + '/master',
  logger: createLogger('speed'), brokers, groups: { speed: group },
  batchIntervalMs: 60_000, segmentAgeMs: 10_000, openStore: async () => slow,
})
`

test('a lone speed role failed by a view stop exits 1 only once the stop is in the store', {
  timeout: 120_000,
}, async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-failed-role-exit-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const topic = await freshTopic(t, 1)
  const group = `test-${randomUUID()}`
  defer(async () => {
    const admin = createAdmin({ brokers })
    await admin.deleteGroup(group).catch(() => undefined)
    await admin.close()
  })
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(
    configPath,
    `import { count, defineConfig, view } from '${src('config.ts')}'
export default defineConfig({
  source: { topic: '${topic}', partitions: 1 },
  views: [view('stops').key((e) => { if (e.bad) throw new Error('stop here'); return e.url }).onError('stop').aggregate(count())],
})
`,
  )
  const producer = createProducer({ brokers })
  defer(() => producer.close())
  await producer.send(topic, [
    { key: null, value: JSON.stringify({ url: '/a', ts: 1767261600000 }) },
    { key: null, value: JSON.stringify({ url: '/b', bad: true, ts: 1767261600001 }) },
  ])
  // A file, not -e: the role's fold threads inherit the process's flags (--input-type included).
  const script = join(dir, 'role.mjs')
  await writeFile(script, role)
  const child = spawn(process.execPath, [script, configPath, dir, brokers, group], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  defer(() => child.exitCode === null && child.kill('SIGKILL'))
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  assert.equal(code, 1, output)
  assert.match(output, /speed layer failed and cannot go on by itself: view 'stops' threw/)
  const store = await openLmdbStore(join(dir, 'store'))
  try {
    const stops = (await store.speedViewErrors()).get('stops')?.stops ?? []
    assert.deepEqual(
      stops.map((s) => [s.view, s.offset]),
      [['stops', 1]],
      'the stop was in the store when the role exited',
    )
    // And its last heartbeat says failed, with why: a `strata worker serve` on this store says
    // so (role-heartbeat.ts) instead of ok.
    const beats = judgeHeartbeats(
      (await store.listMeta('heartbeat ')).map(([, value]) => value as Heartbeat),
      Date.now(),
    )
    assert.deepEqual(
      beats.map((b) => [b.role, b.state, b.instance?.pid]),
      [['speed', 'failed', child.pid]],
    )
    assert.match(beats[0]!.reason ?? '', /view 'stops' threw/)
  } finally {
    await store.close()
  }
})
