// What an OFFSET_OUT_OF_RANGE answer means, judged from the log's start and end offsets (a fake
// client answers listOffsets): below the start, retention outran the role (it stops, naming each
// partition that lost records); past the end, the topic was recreated (it stops); in range again
// (a leader change meanwhile), or the offsets cannot be asked right now, the partitions wait as
// read trouble and the fetch loop asks again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Consumer } from '@platformatic/kafka'
import { ErrorCodes } from '../../../src/core/errors.ts'
import { outOfRange, RetentionOutranError } from '../../../src/log/kafka/retention.ts'

/** A client whose log runs from `start[p]` to `end[p]` for every partition p of topic t. */
function fakeClient(start: bigint[], end: bigint[] | Error): Consumer {
  return {
    async listOffsets({ timestamp }: { timestamp: bigint }) {
      if (end instanceof Error) throw end
      return new Map([['t', timestamp === -2n ? start : end]])
    },
  } as unknown as Consumer
}

test('offsets back in range: retriable, naming the partitions', async () => {
  const error = await outOfRange(
    fakeClient([0n, 5n], [10n, 10n]),
    [
      { topic: 't', partition: 0, offset: 3 },
      { topic: 't', partition: 1, offset: 5 },
    ],
    undefined,
  )
  assert.equal(error.retriable, true)
  assert.match(error.message, /t\[0\]@3, t\[1\]@5/)
})

test('one partition outran beside one in range: the refusal names the outran one only', async () => {
  const error = await outOfRange(
    fakeClient([0n, 5n], [10n, 10n]),
    [
      { topic: 't', partition: 0, offset: 3 },
      { topic: 't', partition: 1, offset: 2 },
    ],
    undefined,
  )
  assert.ok(error instanceof RetentionOutranError)
  assert.equal(error.retriable, false)
  assert.deepEqual(error.partitions, [{ topic: 't', partition: 1, offset: 2, logStart: 5, lost: 3 }])
})

test('past the end: SOURCE_MISMATCH', async () => {
  const error = await outOfRange(
    fakeClient([0n], [10n]),
    [{ topic: 't', partition: 0, offset: 11 }],
    undefined,
  )
  assert.equal(error.code, ErrorCodes.SOURCE_MISMATCH)
  assert.equal(error.retriable, false)
})

test('the log offsets cannot be asked right now: retriable, the partitions wait and are judged again', async () => {
  const error = await outOfRange(
    fakeClient([0n], new Error('connection reset')),
    [{ topic: 't', partition: 0, offset: 3 }],
    undefined,
  )
  assert.equal(error.code, ErrorCodes.KAFKA)
  assert.equal(error.retriable, true)
})
