// Interop with the clients people already use: Debian's kcat (librdkafka) and kafka-python.
// Records they produce are read by Strata's Kafka module with the same keys and partitions,
// and records Strata produces are read back by kcat the same way. Keyed records must land in
// the same partition whichever client wrote them: all of them use Kafka's murmur2.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createAdmin, createProducer, partitionForKey, readPartition } from '../../src/log/kafka/index.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'

const partitions = 4
const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`)

async function readAll(topic: string) {
  const all = await Promise.all(
    Array.from({ length: partitions }, (_, partition) => readPartition({ brokers, topic, partition })),
  )
  return all.flat()
}

test('kcat → Strata: keys, values and partitions agree', async (t) => {
  const topic = await freshTopic(t, partitions)
  const input = keys
    .map((key, i) => `${key}\t${JSON.stringify({ key, i, ts: 1764000000000 + i })}`)
    .join('\n')
  // murmur2_random is librdkafka's name for the Java client's default partitioner.
  execFileSync('kcat', ['-b', brokers, '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'], {
    input,
  })
  const records = await readAll(topic)
  assert.equal(records.length, keys.length)
  for (const record of records) {
    const key = record.key!.toString()
    assert.equal(record.partition, partitionForKey(key, partitions), key)
    assert.equal(JSON.parse(record.value.toString()).key, key)
  }
})

test('kafka-python → Strata: keys, values and partitions agree', async (t) => {
  const topic = await freshTopic(t, partitions)
  const script = `
import sys, json
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1].split(','), acks='all')
for i, key in enumerate(sys.argv[3:]):
    p.send(sys.argv[2], key=key.encode(), value=json.dumps({'key': key, 'i': i}).encode())
p.flush()
`
  const result = spawnSync('/usr/bin/python3', ['-c', script, brokers, topic, ...keys], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  const records = await readAll(topic)
  assert.equal(records.length, keys.length)
  for (const record of records) {
    const key = record.key!.toString()
    assert.equal(record.partition, partitionForKey(key, partitions), key)
    assert.equal(JSON.parse(record.value.toString()).key, key)
  }
})

test('Strata → kcat: kcat reads the same keys at the same partitions and offsets', async (t) => {
  const defer = deferrer(t)
  const topic = await freshTopic(t, partitions)
  const producer = createProducer({ brokers })
  defer(() => producer.close())
  const positions = await producer.send(
    topic,
    keys.map((key) => ({ key, value: JSON.stringify({ key }) })),
  )
  const out = execFileSync('kcat', ['-b', brokers, '-C', '-t', topic, '-e', '-q', '-f', '%p\t%o\t%k\t%s\n'], {
    encoding: 'utf8',
  })
  const seen = new Map(
    out
      .trim()
      .split('\n')
      .map((line) => {
        const [p, o, k, s] = line.split('\t')
        return [k, { partition: Number(p), offset: Number(o), value: s }] as const
      }),
  )
  assert.equal(seen.size, keys.length)
  for (const [i, key] of keys.entries()) {
    assert.deepEqual(seen.get(key), { ...positions[i], value: JSON.stringify({ key }) }, key)
  }
})

test('the original kafka-python example runs against the local cluster and prints its message', async (t) => {
  // The example uses the fixed topic `test_topic` on localhost:9092, as it was written; start
  // from an empty topic so what it prints is exactly what it sent.
  if (!brokers.split(',').includes('127.0.0.1:9092')) {
    t.skip('the example is written for localhost:9092')
    return
  }
  const admin = createAdmin({ brokers })
  await admin.deleteTopic('test_topic')
  await admin.close()
  const example = fileURLToPath(new URL('../../examples/kafka-python/hello.py', import.meta.url))
  const result = spawnSync('/usr/bin/python3', [example], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(result.status, 0, result.stderr)
  assert.equal(result.stdout, 'Hello, Kafka!\n')
})
