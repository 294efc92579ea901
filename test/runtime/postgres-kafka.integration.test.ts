// Issue 5's production shape: the same config on Kafka with the PostgreSQL store and two speed
// workers answers exactly what the embedded default answers for the same events.
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'
import {
  answer,
  bin,
  covered,
  hourlyCounts,
  pageViews,
  startStrata,
  waitFor,
  windowsOf,
  writePageviewsConfig,
} from './start-helpers.ts'

const pgUrl = process.env.STRATA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test'

test('Kafka + PostgreSQL + two speed workers answer exactly as the embedded default', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-pg-kafka-'))
  const id = randomUUID().replaceAll('-', '').slice(0, 12)
  const topic = `test-${id}`
  const schema = `strata_test_${id}`
  const prefix = `test-${id}`
  const store = `${pgUrl}?schema=${schema}`
  const configPath = await writePageviewsConfig(dir, topic, 4)
  const kafkaArgs = [
    '--config',
    configPath,
    '--data',
    join(dir, 'kafka'),
    '--brokers',
    brokers,
    '--store',
    store,
  ]
  const production = await startStrata(
    dir,
    [...kafkaArgs, '--group-prefix', prefix, '--batch-interval', '3s', '--segment-age', '1s'],
    1,
  )
  const embedded = await startStrata(
    dir,
    [
      '--config',
      configPath,
      '--data',
      join(dir, 'embedded'),
      '--batch-interval',
      '3s',
      '--segment-age',
      '1s',
    ],
    2,
  )
  let second: ChildProcess | undefined
  t.after(async () => {
    for (const child of [production.child, embedded.child, second]) child?.kill('SIGKILL')
    await Promise.all([production.exited, embedded.exited])
    const admin = createAdmin({ brokers })
    for (const group of [`${prefix}-speed`, `${prefix}-archiver`])
      await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic)
    await admin.close()
    const client = new pg.Client({ connectionString: pgUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
    await rm(dir, { recursive: true, force: true })
  })

  // The second speed worker joins the same consumer group, sharing the store.
  second = spawn(process.execPath, [bin, 'worker', 'speed', ...kafkaArgs, '--group', `${prefix}-speed`], {
    stdio: 'ignore',
  })
  const admin = createAdmin({ brokers })
  t.after(() => admin.close())
  await waitFor(async () => {
    const group = await admin.describeGroup(`${prefix}-speed`).catch(() => undefined)
    return (
      group !== undefined &&
      group.members.filter((m) => (m.assignments.get(topic)?.length ?? 0) > 0).length === 2
    )
  }, 'two speed workers sharing the partitions')

  const events = pageViews(1200, 13)
  execFileSync('kcat', ['-b', brokers, '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'], {
    input: events.map((e) => `${e.user}\t${JSON.stringify(e)}`).join('\n'),
  })
  const res = await fetch(`${embedded.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
  assert.equal(res.status, 202)

  for (const deployment of [production, embedded]) {
    await waitFor(
      async () => covered(await answer(deployment.url, 'pageviews_by_url', '/a')) >= events.length,
      'asOf',
    )
    await waitFor(
      async () => (await answer(deployment.url, 'pageviews_by_url', '/a')).batch !== null,
      'a batch version',
    )
  }
  for (const url of ['/a', '/b', '/c', '/d']) {
    const [p, e] = await Promise.all([
      answer(production.url, 'pageviews_by_url', url),
      answer(embedded.url, 'pageviews_by_url', url),
    ])
    assert.equal(covered(p), events.length)
    assert.equal(covered(e), events.length)
    assert.deepEqual(windowsOf(p), windowsOf(e), url)
    assert.deepEqual(windowsOf(p), hourlyCounts(events, url), url)
  }
})
