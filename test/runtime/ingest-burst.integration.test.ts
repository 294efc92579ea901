// `strata start` on Kafka under a burst of POST /events well above the burst rate
// (src/runtime/ingest-burst.ts: the archiver's and the speed layer's threads hold their batches,
// the compactor its passes, while it lasts): every acknowledged event is folded once — nothing
// lost, nothing doubled — and archived once, after the burst.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'
import {
  answer,
  covered,
  lostAndDuplicated,
  pageViews,
  startStrata,
  waitFor,
  writePageviewsConfig,
} from './start-helpers.ts'

test('strata start: a burst of POST /events above the burst rate is folded exactly once after the hold', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-burst-'))
  const topic = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 3)
  const args = ['--config', configPath, '--data', dir, '--brokers', brokers, '--segment-age', '1s']
  args.push('--group-prefix', topic)
  const started = await startStrata(dir, args, 1)
  t.after(async () => {
    started.child.kill('SIGKILL')
    await started.exited
    const admin = createAdmin({ brokers })
    for (const group of [`${topic}-speed`, `${topic}-archiver`])
      await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic)
    await admin.deleteTopic(`${topic}.dead-letter`).catch(() => undefined)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })
  // 40,000 events in 40 requests, all at once: the burst rate is 15,000 events in 100 ms.
  const events = pageViews(40_000, 19)
  const bodies = Array.from({ length: 40 }, (_, i) =>
    events
      .slice(i * 1000, (i + 1) * 1000)
      .map((e) => JSON.stringify(e))
      .join('\n'),
  )
  const statuses = await Promise.all(
    bodies.map(async (body) => {
      const res = await fetch(`${started.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      })
      await res.arrayBuffer()
      return res.status
    }),
  )
  assert.deepEqual(new Set(statuses), new Set([202]))
  await waitFor(
    async () => covered(await answer(started.url, 'pageviews_by_url', '/a')) >= events.length,
    'the speed layer to cover the burst',
  )
  assert.equal(covered(await answer(started.url, 'pageviews_by_url', '/a')), events.length)
  assert.deepEqual(await lostAndDuplicated(started.url, events), { lost: 0, duplicated: 0 })
  // The archiver took every record in too, once (its counter on /metrics, the segments written).
  const archived = async () => {
    const text = await (await fetch(`${started.url}/metrics`)).text()
    const line = text
      .split('\n')
      .find((l) => /^strata_role_progress_total\{[^}]*role="archiver"[^}]*what="records"/.test(l))
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  await waitFor(async () => (await archived()) >= events.length, 'the archiver to take the burst in')
  assert.equal(await archived(), events.length)
})
