// ensureSourceTopic's decisions (src/runtime/source-topic.ts), on an admin that answers as Kafka
// does: a principal without the Create ACL waits for the topic, saying so, instead of exiting;
// a topic with another partition count is refused. Creating a missing topic on the real broker is
// covered by test/cli/source-identity.integration.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '@platformatic/kafka'
import { count, defineConfig, view } from '../../src/config.ts'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import type { KafkaAdmin, TopicDescription } from '../../src/log/kafka/index.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { ensureSourceTopic } from '../../src/runtime/source-topic.ts'

const config = defineConfig({
  source: { topic: 'events', partitions: 2 },
  views: [
    view('n')
      .key(() => 'all')
      .aggregate(count()),
  ],
})
const description = (partitions: number, brokers = 1, replicas = [1]): TopicDescription => ({
  topic: 'events',
  id: 'topic-id',
  clusterId: 'cluster-id',
  brokers,
  partitions: Array.from({ length: partitions }, (_, partition) => ({
    partition,
    leader: 1,
    leaderEpoch: 0,
    replicas,
    isr: replicas,
    offlineReplicas: [],
  })),
})

function admin(answers: { describe: () => TopicDescription | undefined; create?: () => never }): KafkaAdmin {
  return {
    async describeTopic() {
      const found = answers.describe()
      if (!found) throw new StrataError(ErrorCodes.TOPIC, 'Topic events does not exist')
      return found
    },
    async createTopic() {
      return answers.create ? answers.create() : description(2)
    },
  } as unknown as KafkaAdmin
}

test('a principal that may not create the topic waits for it with a log line, then goes on', async () => {
  let describes = 0
  const lines: string[] = []
  const source = await ensureSourceTopic(
    { config, brokers: 'x:9092', logger: createLogger('test', (line) => lines.push(line)) },
    {
      pollMs: 10,
      admin: admin({
        describe: () => (++describes > 3 ? description(2) : undefined),
        create: () => {
          throw new StrataError(ErrorCodes.TOPIC, 'Cannot create topic events', {
            cause: new ProtocolError('TOPIC_AUTHORIZATION_FAILED'),
          })
        },
      }),
    },
  )
  assert.deepEqual(source, {
    kind: 'kafka',
    clusterId: 'cluster-id',
    topic: 'events',
    topicId: 'topic-id',
    partitions: 2,
  })
  assert.match(lines.join('\n'), /topic events does not exist and this principal may not create it: waiting/)
})

test('waiting has a limit: then STRATA_ERR_TOPIC says what to do', async () => {
  await assert.rejects(
    ensureSourceTopic(
      { config, brokers: 'x:9092', logger: createLogger('test', () => undefined) },
      {
        pollMs: 10,
        waitMs: 50,
        admin: admin({
          describe: () => undefined,
          create: () => {
            throw new StrataError(ErrorCodes.TOPIC, 'Cannot create topic events', {
              cause: new ProtocolError('CLUSTER_AUTHORIZATION_FAILED'),
            })
          },
        }),
      },
    ),
    (error: StrataError) =>
      error.code === ErrorCodes.TOPIC && /create it \(2 partitions\)/.test(error.message),
  )
})

test('a topic with another partition count than the config is refused', async () => {
  await assert.rejects(
    ensureSourceTopic(
      { config, brokers: 'x:9092', logger: createLogger('test', () => undefined) },
      { admin: admin({ describe: () => description(3) }) },
    ),
    (error: StrataError) =>
      error.code === ErrorCodes.SOURCE_MISMATCH &&
      /has 3 partitions and the config says 2/.test(error.message),
  )
})

test('a config without replicationFactor creates the topic with the cluster default (-1 on the wire)', async () => {
  const specs: unknown[] = []
  const lines: string[] = []
  await ensureSourceTopic(
    { config, brokers: 'x:9092', logger: createLogger('test', (line) => lines.push(line)) },
    {
      admin: {
        async describeTopic() {
          throw new StrataError(ErrorCodes.TOPIC, 'Topic events does not exist')
        },
        async createTopic(spec: unknown) {
          specs.push(spec)
          return description(2, 3, [1, 2, 3])
        },
      } as unknown as KafkaAdmin,
    },
  )
  assert.deepEqual(specs, [{ topic: 'events', partitions: 2 }])
  assert.match(
    lines.join('\n'),
    /created topic events \(2 partitions, replication 3, the cluster's default\)/,
  )
  assert.doesNotMatch(lines.join('\n'), /loses acknowledged events/)
})

test('a topic with fewer copies than the cluster could keep is warned about, and used', async () => {
  for (const [brokers, replicas, warned] of [
    [3, [1], true],
    [3, [1, 2], true],
    [3, [1, 2, 3], false],
    [5, [1, 2, 3], false],
    [2, [1], true],
    [1, [1], false],
  ] as const) {
    const lines: string[] = []
    const source = await ensureSourceTopic(
      { config, brokers: 'x:9092', logger: createLogger('test', (line) => lines.push(line)) },
      { admin: admin({ describe: () => description(2, brokers, [...replicas]) }) },
    )
    assert.equal(source.partitions, 2)
    assert.equal(
      /loses acknowledged events/.test(lines.join('\n')),
      warned,
      `${brokers} brokers, ${replicas}`,
    )
  }
})

test('a topic another role created first (two roles starting together) is not logged as created by this one', async () => {
  const lines: string[] = []
  await ensureSourceTopic(
    { config, brokers: 'x:9092', logger: createLogger('test', (line) => lines.push(line)) },
    {
      admin: admin({
        describe: () => undefined,
        create: () => ({ ...description(2), created: false }) as never,
      }),
    },
  )
  assert.doesNotMatch(lines.join('\n'), /created topic events/)
  assert.match(lines.join('\n'), /topic events was created meanwhile by another client/)
})
