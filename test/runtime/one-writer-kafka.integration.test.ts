// On Kafka (issue 11): a second `strata start` that dies on "port in use" had first joined the
// consumer groups, claimed the speed partitions and fenced the first process's speed layer for
// good. Now the port is bound before any layer: the second fails with STRATA_ERR_PORT_IN_USE
// having joined nothing, and the first goes on folding every event it acknowledges.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'
import { spawnStrata } from '../helpers/process.ts'
import {
  answer,
  covered,
  hourlyCounts,
  type PageView,
  pageViews,
  startStrata,
  waitFor,
  windowsOf,
  writePageviewsConfig,
} from './start-helpers.ts'

test('a second strata start on Kafka with the port in use joins no group; the first keeps folding', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-one-writer-kafka-'))
  const other = await mkdtemp(join(tmpdir(), 'strata-one-writer-kafka-'))
  const topic = `test-${randomUUID()}`
  const prefix = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 3)
  const argsFor = (data: string) => [
    '--config',
    configPath,
    '--data',
    data,
    '--brokers',
    brokers,
    '--group-prefix',
    prefix,
    '--segment-age',
    '1s',
  ]
  const first = await startStrata(dir, argsFor(dir), 1)
  const admin = createAdmin({ brokers })
  t.after(async () => {
    first.child.kill('SIGKILL')
    await first.exited
    for (const group of [`${prefix}-speed`, `${prefix}-archiver`])
      await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic).catch(() => undefined)
    await admin.deleteTopic(`${topic}.dead-letter`).catch(() => undefined)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
    await rm(other, { recursive: true, force: true })
  })
  const events = pageViews(1000, 21)
  const acknowledged: PageView[] = []
  const post = async (slice: PageView[]) => {
    const res = await fetch(`${first.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: slice.map((e) => JSON.stringify(e)).join('\n'),
    })
    assert.equal(res.status, 202, await res.text())
    acknowledged.push(...slice)
  }
  const assertExact = async () => {
    await waitFor(
      async () => covered(await answer(first.url, 'pageviews_by_url', '/a')) >= acknowledged.length,
      'the answers to cover every acknowledged event',
    )
    for (const url of ['/a', '/b', '/c', '/d']) {
      const got = await answer(first.url, 'pageviews_by_url', url)
      assert.equal(covered(got), acknowledged.length)
      assert.deepEqual(windowsOf(got), hourlyCounts(acknowledged, url), url)
    }
  }
  await post(events.slice(0, 500))
  await assertExact()

  const port = new URL(first.url).port
  for (const [data, code] of [
    [other, 'STRATA_ERR_PORT_IN_USE'],
    [dir, 'STRATA_ERR_DATA_LOCKED'],
  ]) {
    const second = spawnStrata(['start', '--port', port, ...argsFor(data)])
    assert.equal(await second.exited, 1, second.output())
    assert.equal(
      second
        .output()
        .split('\n')
        .filter((line) => line.includes(code)).length,
      1,
      second.output(),
    )
  }
  const speedGroup = await admin.describeGroup(`${prefix}-speed`)
  assert.equal(speedGroup.members.length, 1, 'only the first process is in the speed group')

  await post(events.slice(500))
  await assertExact()
})
