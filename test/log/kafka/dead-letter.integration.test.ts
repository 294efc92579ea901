// Records that are not events reach the dead-letter topic with their reason and origin.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createDeadLetterWriter, deadLetterTopic } from '../../../src/log/kafka/dead-letter.ts'
import { createAdmin, readPartition } from '../../../src/log/kafka/index.ts'
import { readRecords } from '../../../src/master-dataset/index.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { brokers, freshTopic } from '../../helpers/kafka.ts'
import {
  answer,
  covered,
  hourlyCounts,
  pageViews,
  startStrata,
  waitFor,
  windowsOf,
  writePageviewsConfig,
} from '../../runtime/start-helpers.ts'

test('a rejected record is written to <topic>.dead-letter with reason and origin', async (t) => {
  const defer = deferrer(t)
  const topic = await freshTopic(t, 1)
  const writer = createDeadLetterWriter({ brokers, topic })
  defer(async () => {
    await writer.close()
    const admin = createAdmin({ brokers })
    await admin.deleteTopic(deadLetterTopic(topic))
    await admin.close()
  })
  await writer.write({
    partition: 2,
    reason: 'not JSON: Unexpected token',
    record: { offset: 41, timestamp: 1764000000000, key: 'k1', value: Buffer.from('garbage{') },
  })
  await writer.flush()
  const [record] = await readPartition({ brokers, topic: deadLetterTopic(topic), partition: 0 })
  assert.equal(record.value.toString(), 'garbage{')
  assert.equal(record.key?.toString(), 'k1')
  assert.equal(record.headers['strata-reason'].toString(), 'not JSON: Unexpected token')
  assert.equal(record.headers['strata-origin-topic'].toString(), topic)
  assert.equal(record.headers['strata-origin-partition'].toString(), '2')
  assert.equal(record.headers['strata-origin-offset'].toString(), '41')
})

// Issue 7 end to end: other producers (kcat here) write records that are not events between good
// ones, while `strata start` runs on the real broker. Every such record reaches the dead-letter
// topic with its reason and origin; the master dataset holds only the good events; the views
// count every good event exactly once, before and after a batch run; events after the junk are
// counted too (nothing stalled).
test('strata start: junk from kcat between good events is dead-lettered, skipped by speed and batch alike', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-dead-letter-'))
  const topic = `test-${randomUUID()}`
  const prefix = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 2)
  const admin = createAdmin({ brokers })
  await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 })
  const args = ['--config', configPath, '--data', dir, '--brokers', brokers, '--group-prefix', prefix]
  const strata = await startStrata(dir, [...args, '--batch-interval', '3s', '--segment-age', '1s'], 1)
  t.after(async () => {
    strata.child.kill('SIGKILL')
    await strata.exited
    for (const group of [`${prefix}-speed`, `${prefix}-archiver`])
      await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic)
    await admin.deleteTopic(deadLetterTopic(topic)).catch(() => undefined)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })

  const junk: Array<[string, Buffer]> = [
    ['not JSON', Buffer.from('this is not json')],
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0x74, 0x73, 0x22, 0x3a, 0xff, 0xfe, 0x7d])],
    // Before issue 7's fix this one was decoded with U+FFFD and counted as a page view of /a.
    [
      'invalid UTF-8 in a field',
      Buffer.concat([
        Buffer.from('{"type":"page_view","url":"/a","user":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(`","ts":${Date.UTC(2025, 10, 24, 10)}}`),
      ]),
    ],
    ['an array', Buffer.from('[{"type":"page_view","url":"/a","ts":1764000000000}]')],
    ['no event time', Buffer.from('{"type":"page_view","url":"/a","user":"u1"}')],
    ['empty value', Buffer.alloc(0)],
    // Issue 11: an impossible date was shifted (Feb 30 -> Mar 2) and counted.
    [
      'an impossible date',
      Buffer.from('{"type":"page_view","url":"/a","user":"u1","ts":"2025-11-31T10:00"}'),
    ],
  ]
  const events = pageViews(400, 11)
  const good = (from: number, to: number) => events.slice(from, to).map((e) => Buffer.from(JSON.stringify(e)))
  // Per partition: 100 good, the junk, 100 good. Keyed lines (key TAB value) because kcat skips
  // an empty line; with -Z a key with an empty value is sent as a null value (a tombstone).
  for (const partition of [0, 1]) {
    const lines = [...good(partition * 200, partition * 200 + 100), ...junk.map(([, v]) => v)]
    lines.push(...good(partition * 200 + 100, partition * 200 + 200))
    execFileSync('kcat', ['-b', brokers, '-P', '-t', topic, '-p', String(partition), '-Z', '-K', '\t'], {
      input: Buffer.concat(lines.flatMap((l, i) => [Buffer.from(`k${i}\t`), l, Buffer.from('\n')])),
    })
  }
  const endOffset = 200 + junk.length
  assert.deepEqual(
    (await admin.listOffsets(topic)).map((p) => p.latest),
    [endOffset, endOffset],
  )

  const exact = async () => {
    await waitFor(
      async () => covered(await answer(strata.url, 'pageviews_by_url', '/a')) >= 2 * endOffset,
      'the views to cover every offset, junk included',
    )
    for (const url of ['/a', '/b', '/c', '/d']) {
      const got = await answer(strata.url, 'pageviews_by_url', url)
      assert.equal(covered(got), 2 * endOffset)
      assert.deepEqual(windowsOf(got), hourlyCounts(events, url), url)
    }
  }
  await exact()

  // The dead-letter topic: each junk record once per origin (delivery is at least once), with
  // its bytes, reason and origin.
  const expected = [0, 1].flatMap((partition) => junk.map((_, i) => `${partition}:${100 + i}`))
  let dead: Awaited<ReturnType<typeof readPartition>> = []
  await waitFor(async () => {
    dead = await readPartition({ brokers, topic: deadLetterTopic(topic), partition: 0 }).catch(() => [])
    const origins = new Set(
      dead.map((r) => `${r.headers['strata-origin-partition']}:${r.headers['strata-origin-offset']}`),
    )
    return expected.every((o) => origins.has(o))
  }, 'every junk record in the dead-letter topic')
  for (const record of dead) {
    const offset = Number(record.headers['strata-origin-offset'].toString())
    const [kind, value] = junk[offset - 100]
    assert.equal(record.headers['strata-origin-topic'].toString(), topic)
    assert.ok(['0', '1'].includes(record.headers['strata-origin-partition'].toString()))
    assert.ok(record.value.equals(value), kind)
    assert.ok(record.headers['strata-reason'].toString().length > 0, kind)
  }
  const reasons = dead.map((r) => r.headers['strata-reason'].toString())
  assert.ok(reasons.includes('not UTF-8 [STRATA_ERR_INVALID_JSON]'), reasons.join(' | '))
  assert.ok(reasons.includes('empty value (tombstone) [STRATA_ERR_INVALID_EVENT]'), reasons.join(' | '))
  assert.ok(
    reasons.some(
      (r) =>
        r.startsWith('event-time field "ts" must be') &&
        r.includes('2025-11-31T10:00') &&
        r.endsWith('[STRATA_ERR_INVALID_EVENT_TIME]'),
    ),
    reasons.join(' | '),
  )

  // The master dataset: only the good events, their offsets, the junk's offsets as gaps.
  const root = join(dir, 'master', topic)
  for (const partition of [0, 1]) {
    await waitFor(async () => {
      let last = -1
      for await (const records of readRecords(root, partition)) last = records.at(-1)!.offset
      return last === endOffset - 1
    }, `partition ${partition} archived to its end`)
    const archived: Array<{ offset: number; value: string }> = []
    for await (const records of readRecords(root, partition))
      archived.push(...records.map((r) => ({ offset: r.offset, value: r.value.toString() })))
    const goodOffsets = [...Array(endOffset).keys()].filter((o) => o < 100 || o >= 100 + junk.length)
    assert.deepEqual(
      archived.map((r) => r.offset),
      goodOffsets,
    )
    assert.deepEqual(
      archived.map((r) => JSON.parse(r.value)),
      events.slice(partition * 200, partition * 200 + 200),
    )
  }

  // A batch run reads the master dataset: the merged answers stay exact.
  await waitFor(
    async () => (await answer(strata.url, 'pageviews_by_url', '/a')).batch !== null,
    'a batch version',
  )
  await exact()
})
