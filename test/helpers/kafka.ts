// Shared by the integration tests: the broker list CI provides, and a fresh topic per test.
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'

export const brokers = process.env.STRATA_TEST_BROKERS ?? '127.0.0.1:9092'

export async function freshTopic(t: TestContext, partitions = 3, replicationFactor = 1): Promise<string> {
  const topic = `test-${randomUUID()}`
  const admin = createAdmin({ brokers })
  await admin.createTopic({ topic, partitions, replicationFactor })
  t.after(async () => {
    await admin.deleteTopic(topic)
    await admin.close()
  })
  return topic
}
