// Cross-client check: kcat (librdkafka) with murmur2_random, Kafka's Java-compatible partitioner,
// must put each key where our partitionForKey says.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { partitionForKey, readPartition } from '../../../src/log/kafka/index.ts'
import { brokers, createTestTopic, testAdmin } from './helpers.ts'

const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' })

test('kcat with partitioner=murmur2_random agrees with partitionForKey', {
  skip: kcat.status !== 0 && 'kcat is not installed',
}, async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 7)
  const keys = Array.from({ length: 200 }, (_, i) =>
    i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `/page/${i}?q=é` : `${i}`,
  )
  const input = keys.map((key, i) => `${key}\t{"i":${i}}`).join('\n') + '\n'
  const produced = spawnSync(
    'kcat',
    ['-P', '-b', brokers, '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'],
    { input, encoding: 'utf8' },
  )
  assert.equal(produced.status, 0, produced.stderr)

  let seen = 0
  for (let partition = 0; partition < 7; partition++) {
    for (const record of await readPartition({ brokers, topic, partition })) {
      const key = record.key!.toString('utf8')
      assert.equal(partition, partitionForKey(key, 7), `key ${key}`)
      seen++
    }
  }
  assert.equal(seen, keys.length)
})
