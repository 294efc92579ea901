// What the `strata start --brokers` tests on the shared broker share: a topic and a scratch
// folder of their own, cleaned up after, and POST /events in concurrent requests.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'
import { type PageView, type Started, writePageviewsConfig } from './start-helpers.ts'

/**
 * A scratch folder (`strata-<name>-…`), a topic of its own (3 partitions), the pageviews config
 * over it, and the args of `strata start` for them (more may be pushed), with groups of its own
 * (`--group-prefix <topic>`: the shared defaults, strata-speed and strata-archiver, may hold a
 * member another test killed -9, and a join waits for it up to its session timeout). When the
 * test ends the strata `running()` names, if still running, is killed, and the groups, the topic,
 * its dead-letter topic and the folder are removed.
 */
export async function kafkaStart(
  t: TestContext,
  name: string,
  running: () => Started | undefined,
): Promise<{ dir: string; topic: string; configPath: string; args: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), `strata-${name}-`))
  const topic = `test-${randomUUID()}`
  t.after(async () => {
    const current = running()
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
  const configPath = await writePageviewsConfig(dir, topic, 3)
  const args = ['--config', configPath, '--data', dir, '--brokers', brokers, '--group-prefix', topic]
  return { dir, topic, configPath, args }
}

/** POST /events of these events, `perRequest` a request, all requests at once: every one a 202. */
export async function postEvents(url: string, events: PageView[], perRequest = 1000): Promise<void> {
  const statuses = await Promise.all(
    Array.from({ length: Math.ceil(events.length / perRequest) }, async (_, i) => {
      const res = await fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: events
          .slice(i * perRequest, (i + 1) * perRequest)
          .map((e) => JSON.stringify(e))
          .join('\n'),
      })
      await res.arrayBuffer()
      return res.status
    }),
  )
  assert.deepEqual(new Set(statuses), new Set([202]))
}
