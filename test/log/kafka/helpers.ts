// Shared by the Kafka integration tests: the broker list, and a fresh topic per test.
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { createAdmin, type KafkaAdmin } from '../../../src/log/kafka/index.ts'

export const brokers = process.env.STRATA_TEST_BROKERS ?? '127.0.0.1:9092'

/** An admin client closed after the test. */
export function testAdmin(t: TestContext): KafkaAdmin {
  const admin = createAdmin({ brokers })
  t.after(() => admin.close())
  return admin
}

/** Creates `test-<uuid>` with the given partitions (replication 1), deleted after the test. */
export async function createTestTopic(
  t: TestContext,
  admin: KafkaAdmin,
  partitions: number,
): Promise<string> {
  const topic = `test-${randomUUID()}`
  await admin.createTopic({ topic, partitions, replicationFactor: 1 })
  // Its own admin: after-hooks may run after the test's admin is closed.
  t.after(async () => {
    const cleaner = createAdmin({ brokers })
    try {
      await cleaner.deleteTopic(topic)
    } finally {
      await cleaner.close()
    }
  })
  return topic
}
