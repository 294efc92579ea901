// admin.createTopic on a real broker, as two roles starting together on an empty cluster call it:
// both get the topic, and only the one whose request created it is told `created` (the other's
// TOPIC_ALREADY_EXISTS), so only that role logs "created topic" (before session 20 both did).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { createAdmin } from '../../../src/log/kafka/index.ts'
import { brokers, defer } from './helpers.ts'

test('two clients creating one topic at once: both get it, one is told it created it', async (t) => {
  const topic = `test-${randomUUID()}`
  const a = createAdmin({ brokers })
  const b = createAdmin({ brokers })
  defer(t, async () => {
    await a.deleteTopic(topic).catch(() => undefined)
    await a.close()
    await b.close()
  })
  const [first, second] = await Promise.all([
    a.createTopic({ topic, partitions: 2, replicationFactor: 1 }),
    b.createTopic({ topic, partitions: 2, replicationFactor: 1 }),
  ])
  assert.equal(first.id, second.id)
  assert.deepEqual([first.created, second.created].sort(), [false, true])
  // Asked again, it exists already.
  assert.equal((await a.createTopic({ topic, partitions: 2, replicationFactor: 1 })).created, false)
})
