// Shared by the integration tests: the broker list CI provides, and a fresh topic per test.
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { deferrer } from './cleanup.ts'

export const brokers = process.env.STRATA_TEST_BROKERS ?? '127.0.0.1:9092'

/**
 * A topic of its own for test `t`, deleted once the test ends. The deletion is deferred on the
 * test's deferrer(t) stack, so a consumer, producer or role the test defers the close of after
 * this call closes first: with t.after (run in registration order) the topic went first, under
 * clients still fetching from it (the race deferrer(t) fixed for scratch folders).
 */
export async function freshTopic(t: TestContext, partitions = 3, replicationFactor = 1): Promise<string> {
  const topic = `test-${randomUUID()}`
  const admin = createAdmin({ brokers })
  const defer = deferrer(t)
  defer(() => admin.close())
  await admin.createTopic({ topic, partitions, replicationFactor })
  defer(() => admin.deleteTopic(topic))
  return topic
}
