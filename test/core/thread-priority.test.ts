// core/thread-priority.ts: the threads the roles start beside an HTTP server run at a lower
// CPU priority than the main thread. On Linux each thread has its own nice value; these tests
// read it back from /proc (skipped elsewhere, where lowering is a no-op).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import { BACKGROUND_NICE, lowerThreadPriority } from '../../src/core/thread-priority.ts'
import { threadNices } from '../helpers/threads.ts'

const linux = process.platform === 'linux'

const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads')
  import(workerData.module).then(({ lowerThreadPriority }) => {
    const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())
    const lowered = lowerThreadPriority(workerData.nice)
    const again = lowerThreadPriority(workerData.nice - 5) // never raised back
    parentPort.postMessage({ tid, lowered, again })
  })
`

test('lowerThreadPriority lowers only the calling thread, and never raises it', {
  skip: !linux,
}, async () => {
  const before = threadNices().get(process.pid)!
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      module: new URL('../../src/core/thread-priority.ts', import.meta.url).href,
      nice: BACKGROUND_NICE,
    },
  })
  const { tid, lowered, again } = await new Promise<{ tid: number; lowered: boolean; again: boolean }>(
    (resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    },
  )
  try {
    assert.equal(lowered, true)
    assert.equal(again, true)
    const nices = threadNices()
    assert.notEqual(tid, process.pid)
    assert.equal(
      nices.get(tid),
      Math.max(before, BACKGROUND_NICE),
      'the worker thread runs at the background nice value',
    )
    assert.equal(nices.get(process.pid), before, 'the main thread keeps its own')
  } finally {
    await worker.terminate()
  }
})

test('lowerThreadPriority off Linux does nothing and says so', { skip: linux }, () => {
  assert.equal(lowerThreadPriority(BACKGROUND_NICE), false)
})
