// Shared by the Kafka integration tests: the broker list, a fresh topic per test, and cleanup that
// runs in reverse order of setup (node:test runs t.after hooks first-in first-out, which would
// delete a topic before the consumer reading it is closed).
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { createAdmin, type KafkaAdmin } from '../../../src/log/kafka/index.ts'
import { deferrer } from '../../helpers/cleanup.ts'

export const brokers = process.env.STRATA_TEST_BROKERS ?? '127.0.0.1:9092'

/** Runs `cleanup` after the test, before everything deferred earlier (last in, first out; the same stack as test/helpers/cleanup.ts deferrer's). */
export function defer(t: TestContext, cleanup: () => unknown): void {
  deferrer(t)(cleanup)
}

/** An admin client closed after the test. */
export function testAdmin(t: TestContext): KafkaAdmin {
  const admin = createAdmin({ brokers })
  defer(t, () => admin.close())
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
  defer(t, () => admin.deleteTopic(topic))
  return topic
}

/** A fresh group id, whose committed offsets are deleted after the test. */
export function testGroup(t: TestContext, admin: KafkaAdmin): string {
  const groupId = `test-${randomUUID()}`
  defer(t, () => admin.deleteGroup(groupId))
  return groupId
}

/** Polls until `ready()` holds; fails after a generous deadline (a wait, not a timing claim). */
export async function waitFor(ready: () => boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const start = Date.now()
  while (!ready()) {
    if (Date.now() - start > deadlineMs) throw new Error(`Gave up waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
