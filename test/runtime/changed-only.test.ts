// A role thread's stats are posted only when they changed (src/runtime/changed-only.ts): an idle
// role must not wake the serving thread, and a change must still cross.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { changedOnly } from '../../src/runtime/changed-only.ts'

test('the first value is sent, equal ones after it are not, a changed one is', () => {
  const sent: unknown[] = []
  const send = changedOnly((v: unknown) => sent.push(v))
  const stats = { partitions: [{ partition: 0, consumed: 5, lastCommitAt: null }] }
  send(stats)
  send({ partitions: [{ partition: 0, consumed: 5, lastCommitAt: null }] })
  send(stats)
  assert.equal(sent.length, 1)
  send({ partitions: [{ partition: 0, consumed: 6, lastCommitAt: 1 }] })
  assert.deepEqual(sent.at(-1), { partitions: [{ partition: 0, consumed: 6, lastCommitAt: 1 }] })
  // Back to an earlier value: a change from the last sent, so sent.
  send(stats)
  assert.equal(sent.length, 3)
  assert.equal(sent.at(-1), stats)
})

test('a value mutated in place after it was sent is sent again once it differs', () => {
  // The speed layer's stats() builds a new object each time, but a provider that mutates one in
  // place must not be taken for unchanged because the same object comes back.
  const sent: string[] = []
  const send = changedOnly((v: { n: number }) => sent.push(JSON.stringify(v)))
  const stats = { n: 1 }
  send(stats)
  stats.n = 2
  send(stats)
  assert.deepEqual(sent, ['{"n":1}', '{"n":2}'])
})
