// `strata start` on Kafka stopped while a burst of POST /events holds its roles
// (src/runtime/ingest-burst.ts): killed (SIGKILL) right after the burst's last 202, then stopped
// (SIGTERM) right after a second burst's, then started again: every acknowledged event of both
// bursts is folded exactly once — a held batch is neither lost by a crash nor doubled by a stop
// that commits around it — and the SIGTERM stop ends cleanly (exit 0), its hold notwithstanding.
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
  type PageView,
  pageViews,
  type Started,
  startStrata,
  waitFor,
  writePageviewsConfig,
} from './start-helpers.ts'

/** 40 concurrent POSTs of 1,000 events: 40,000 at once, far above the burst rate. */
async function burst(url: string, events: PageView[]): Promise<void> {
  const statuses = await Promise.all(
    Array.from({ length: Math.ceil(events.length / 1000) }, async (_, i) => {
      const body = events
        .slice(i * 1000, (i + 1) * 1000)
        .map((e) => JSON.stringify(e))
        .join('\n')
      const res = await fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      })
      await res.arrayBuffer()
      return res.status
    }),
  )
  assert.deepEqual(new Set(statuses), new Set([202]))
}

test('strata start: killed, then stopped, during a burst hold; restarted, every event folded once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-burst-stop-'))
  const topic = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 3)
  const args = ['--config', configPath, '--data', dir, '--brokers', brokers, '--segment-age', '1s']
  args.push('--group-prefix', topic)
  let current: Started | undefined
  t.after(async () => {
    if (current && current.child.exitCode === null) {
      current.child.kill('SIGKILL')
      await current.exited
    }
    const admin = createAdmin({ brokers })
    for (const group of [`${topic}-speed`, `${topic}-archiver`])
      await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic)
    await admin.deleteTopic(`${topic}.dead-letter`).catch(() => undefined)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })
  const first = pageViews(40_000, 31)
  const second = pageViews(40_000, 37)

  current = await startStrata(dir, args, 1)
  await burst(current.url, first)
  current.child.kill('SIGKILL') // inside the burst's linger: the roles are held
  await current.exited

  current = await startStrata(dir, args, 2)
  await burst(current.url, second)
  current.child.kill('SIGTERM')
  assert.equal(await current.exited, 0, 'a stop during a hold ends cleanly')

  current = await startStrata(dir, args, 3)
  const all = [...first, ...second]
  const url = current.url
  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= all.length,
    'the speed layer to cover both bursts',
  )
  assert.equal(covered(await answer(url, 'pageviews_by_url', '/a')), all.length)
  assert.deepEqual(await lostAndDuplicated(url, all), { lost: 0, duplicated: 0 })
})
