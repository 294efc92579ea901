// A consumer-group member in its own process, for tests that kill it (SIGKILL: no LeaveGroup).
// argv: brokers groupId topic. Prints `assigned <partitions>` whenever it gets partitions.
import { createConsumer } from '../../../src/log/kafka/index.ts'

const [brokers, groupId, topic] = process.argv.slice(2) as [string, string, string]
const consumer = createConsumer({
  brokers,
  groupId,
  topics: [topic],
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 200,
  maxWaitMs: 200,
  onAssign: (partitions) => {
    process.stdout.write(`assigned ${partitions.map((p) => p.partition).join(',')}\n`)
    return undefined
  },
  onBatch: () => {},
})
await consumer.start()
