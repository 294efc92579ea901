// freshTopic deletes its topic only after the clients its test closes: the deletion sits on the
// test's deferrer(t) stack, under what the test defers after it. Driven here by a stand-in test
// context, so that what the cleanups saw can be checked once they ran.
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { deferrer } from './cleanup.ts'
import { brokers, freshTopic } from './kafka.ts'

test('freshTopic: a client closed by the test still finds its topic; the topic is gone after', async (t) => {
  const admin = createAdmin({ brokers })
  t.after(() => admin.close())
  const hooks: Array<() => unknown> = []
  const context = { after: (hook: () => unknown) => hooks.push(hook) } as unknown as TestContext
  const topic = await freshTopic(context, 1)
  let atClose: unknown
  // A consumer's close, deferred by the test after freshTopic: the topic must still be there.
  deferrer(context)(async () => {
    atClose = await admin.listOffsets(topic).then(
      (offsets) => offsets.length,
      (error: Error) => error.message,
    )
  })
  for (const hook of hooks) await hook()
  assert.equal(atClose, 1, 'the topic was there while the test closed its clients')
  await assert.rejects(admin.listOffsets(topic), 'and deleted once they closed')
})
