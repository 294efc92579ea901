// Records that are not events reach the dead-letter topic with their reason and origin.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createDeadLetterWriter, deadLetterTopic } from '../../src/archive/dead-letter.ts'
import { createAdmin, readPartition } from '../../src/log/kafka/index.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'

test('a rejected record is written to <topic>.dead-letter with reason and origin', async (t) => {
  const topic = await freshTopic(t, 1)
  const writer = createDeadLetterWriter({ brokers, topic })
  t.after(async () => {
    await writer.close()
    const admin = createAdmin({ brokers })
    await admin.deleteTopic(deadLetterTopic(topic))
    await admin.close()
  })
  await writer.write({
    partition: 2,
    reason: 'not JSON: Unexpected token',
    record: { offset: 41, timestamp: 1764000000000, key: 'k1', value: Buffer.from('garbage{') },
  })
  await writer.flush()
  const [record] = await readPartition({ brokers, topic: deadLetterTopic(topic), partition: 0 })
  assert.equal(record.value.toString(), 'garbage{')
  assert.equal(record.key?.toString(), 'k1')
  assert.equal(record.headers['strata-reason'].toString(), 'not JSON: Unexpected token')
  assert.equal(record.headers['strata-origin-topic'].toString(), topic)
  assert.equal(record.headers['strata-origin-partition'].toString(), '2')
  assert.equal(record.headers['strata-origin-offset'].toString(), '41')
})
