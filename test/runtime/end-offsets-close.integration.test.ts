// The end-offsets reader of a serving or speed process (runtime/source-loss.ts) holds an admin
// client for the process's life. Before issue 13 nothing closed it: its broker connections outlived
// the roles at shutdown. Its opener (runtime/pipeline.ts) now closes it with the roles.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { kafkaEndOffsetsChecked } from '../../src/runtime/source-loss.ts'
import type { Store } from '../../src/store/store.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length

test('the Kafka end-offsets reader reads through one client and lets go of its connections on close', async (t) => {
  const topic = await freshTopic(t, 2)
  const store = { speedPartitions: async () => [] } as unknown as Store
  const before = sockets()
  const endOffsets = kafkaEndOffsetsChecked(brokers, topic, store)
  assert.deepEqual(await endOffsets(), [0, 0])
  assert.deepEqual(await endOffsets(), [0, 0])
  assert.ok(sockets() > before, 'reading opened a connection')
  await endOffsets.close()
  assert.equal(sockets(), before)
})
