// Issue 11 on a real broker and PostgreSQL, as a user meets it: the README's production shape on a
// topic that does not exist yet starts and works; a data folder or a store from another source
// (the demo's embedded log, a recreated topic, another partition count) or from another master
// dataset (strata batch --data <empty folder>) is refused at start with STRATA_ERR_SOURCE_MISMATCH.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import pg from 'pg'
import { createAdmin, createProducer } from '../../src/log/kafka/index.ts'
import { listPartition } from '../../src/master-dataset/index.ts'
import { freePort, type SpawnedStrata, spawnStrata } from '../helpers/process.ts'
import { brokers, defer } from '../log/kafka/helpers.ts'
import { startStrata, waitFor, writePageviewsConfig } from '../runtime/start-helpers.ts'

const pgUrl = process.env.STRATA_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test'

async function scratch(t: TestContext, partitions = 2) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-source-'))
  const topic = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, partitions)
  const admin = createAdmin({ brokers })
  defer(t, async () => {
    await admin.deleteTopic(topic).catch(() => undefined)
    await admin.deleteTopic(`${topic}.dead-letter`).catch(() => undefined)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, topic, configPath, admin }
}

function run(t: TestContext, args: string[]): SpawnedStrata {
  const spawned = spawnStrata(args)
  defer(t, async () => {
    if (spawned.child.exitCode === null) {
      spawned.child.kill('SIGKILL')
      await spawned.exited
    }
  })
  return spawned
}

async function until(spawned: SpawnedStrata, text: string): Promise<void> {
  await waitFor(async () => {
    if (spawned.output().includes(text)) return true
    if (spawned.child.exitCode !== null) throw new Error(`exited before "${text}":\n${spawned.output()}`)
    return false
  }, text)
}

async function refused(spawned: SpawnedStrata, what: RegExp): Promise<void> {
  const code = await spawned.exited
  assert.equal(code, 1, spawned.output())
  assert.match(spawned.output(), /\[STRATA_ERR_SOURCE_MISMATCH\]/)
  assert.match(spawned.output(), what)
}

test('the production shape on an empty cluster: archiver and speed create the topic and work', async (t) => {
  const { dir, topic, configPath, admin } = await scratch(t)
  // Each member is killed -9 at the end: 6 s sessions rather than 30 s keep its groups short-lived.
  const common = ['--config', configPath, '--brokers', brokers, '--session-timeout', '6s']
  const archiver = run(t, [
    'worker',
    'archiver',
    ...common,
    '--data',
    join(dir, 'a'),
    '--segment-age',
    '1s',
    '--group',
    `archiver-${topic}`,
  ])
  const speed = run(t, ['worker', 'speed', ...common, '--data', join(dir, 's'), '--group', `speed-${topic}`])
  defer(t, () => admin.deleteGroup(`speed-${topic}`).catch(() => undefined))
  defer(t, () => admin.deleteGroup(`archiver-${topic}`).catch(() => undefined))
  await until(archiver, 'session timeout 6s')
  await until(speed, 'session timeout 6s')
  assert.match(archiver.output() + speed.output(), /created topic/)
  const producer = createProducer({ brokers })
  const at = Date.UTC(2026, 0, 1)
  await producer.send(
    topic,
    Array.from({ length: 10 }, (_, i) => ({
      key: `/${i % 3}`,
      value: JSON.stringify({ type: 'page_view', url: `/${i % 3}`, ts: at }),
    })),
  )
  await producer.close()
  const root = join(dir, 'a', 'master', topic)
  await waitFor(async () => {
    let archived = 0
    for (const p of [0, 1])
      for (const s of (await listPartition(root, p)).segments) archived += s.end - s.start
    return archived === 10
  }, 'the archiver to seal the 10 events')
})

test('a data folder that ran the embedded demo is refused by strata start --brokers, before the topic is created', async (t) => {
  const { dir, topic, configPath, admin } = await scratch(t)
  const data = join(dir, 'data')
  const embedded = await startStrata(dir, ['--config', configPath, '--data', data], 1)
  embedded.child.kill('SIGTERM')
  assert.equal(await embedded.exited, 0)
  const kafka = run(t, [
    'start',
    '--config',
    configPath,
    '--data',
    data,
    '--brokers',
    brokers,
    '--port',
    String(await freePort()),
  ])
  await refused(
    kafka,
    /(store was built from|holds a master dataset of) the embedded log .*does not exist .*not creating it/,
  )
  // The refusal left the cluster as it was: no topic created only to be refused (before session 20
  // the config's topic was created first, then the start refused).
  await assert.rejects(admin.describeTopic(topic), /does not exist|UNKNOWN_TOPIC/i)
})

test('a recreated topic (same name, new id) is refused by the archiver', async (t) => {
  const { dir, topic, configPath, admin } = await scratch(t)
  // A group of its own: a member of the shared default group killed -9 by another test (this
  // file's first one, or another file's) would hold the join up to its 30 s session timeout.
  const group = `archiver-${topic}`
  const args = [
    'worker',
    'archiver',
    '--config',
    configPath,
    '--data',
    dir,
    '--brokers',
    brokers,
    '--group',
    group,
  ]
  defer(t, () => admin.deleteGroup(group).catch(() => undefined))
  const first = run(t, args)
  await until(first, 'archiving')
  first.child.kill('SIGTERM')
  await first.exited
  const before = await admin.describeTopic(topic)
  await admin.deleteTopic(topic)
  // Deletion is asynchronous: creating the name again succeeds once it is gone.
  await waitFor(async () => {
    try {
      await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 })
      return (await admin.describeTopic(topic)).id !== before.id
    } catch {
      return false
    }
  }, 'the topic to be created again')
  await refused(run(t, args), new RegExp(`id ${before.id}`))
})

test('a topic whose partition count is not the config says is refused', async (t) => {
  const { topic, configPath, dir, admin } = await scratch(t, 2)
  await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 })
  const speed = run(t, ['worker', 'speed', '--config', configPath, '--data', dir, '--brokers', brokers])
  await refused(speed, /has 3 partitions and the config says 2/)
})

test('strata batch --data <empty folder> against a PostgreSQL schema built from another folder is refused', async (t) => {
  const { dir, configPath } = await scratch(t)
  const schema = `identity_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const store = `${pgUrl}?schema=${schema}`
  defer(t, async () => {
    const client = new pg.Client({ connectionString: pgUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  })
  const started = await startStrata(
    dir,
    ['--config', configPath, '--data', join(dir, 'data'), '--store', store],
    1,
  )
  started.child.kill('SIGTERM')
  assert.equal(await started.exited, 0)
  const batch = run(t, ['batch', '--config', configPath, '--data', join(dir, 'empty'), '--store', store])
  await refused(batch, /new, empty master dataset/)
  // The way out: strata reset empties the store, then the new folder is accepted.
  const reset = run(t, [
    'reset',
    '--config',
    configPath,
    '--data',
    join(dir, 'empty'),
    '--store',
    store,
    '--yes',
  ])
  assert.equal(await reset.exited, 0, reset.output())
  const again = run(t, ['batch', '--config', configPath, '--data', join(dir, 'empty'), '--store', store])
  assert.equal(await again.exited, 0, again.output())
})
