// Issue 7, part 3, short: ~25 s of paced HTTP ingest into `strata start --brokers`, a SIGSTOP
// that lets the speed layer fall behind and catch up, SIGTERM while requests are in flight, a
// restart. Exact counts, nothing lost, nothing repeated (load-harness.ts says how each is
// checked). The long run with figures is `npm run test:load` (RELIABILITY.md).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { brokers } from '../helpers/kafka.ts'
import { runLoad } from './load-harness.ts'

test('SIGTERM under load drains: every request answered 202 or 503, exit 0, a restart repeats and loses nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-sigterm-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const figures = await runLoad({
    brokers,
    dir,
    seconds: 20,
    rate: 2000,
    pauseSeconds: 3,
    log: (l) => t.diagnostic(l),
  })
  t.diagnostic(JSON.stringify(figures))
  assert.deepEqual(figures.mismatches, [])
  assert.equal(figures.shutdown.exitCode, 0)
  assert.deepEqual(figures.requests.other, [])
  // The server drains (serving/drain.ts) before it closes: every request it read is answered.
  // Only a handshake the kernel completed between the server's last accept and its close can be
  // reset (Linux resets a closed listening socket's queue; no process can prevent it), and such a
  // request was never read: none of it is in the topic. Two of nine runs on a busy machine saw one
  // each (a new connection every ~50 ms here: two in that window are not expected); a drain that dropped
  // connections it had read would reset the requests in flight, and any it had written would show
  // in unknownWritten.
  assert.ok(figures.requests.unknown <= 1, figures.requests.unknownErrors.join(', '))
  assert.equal(figures.requests.unknownWritten, 0, figures.requests.unknownErrors.join(', '))
  assert.ok(figures.requests.accepted > 0)
  // The restart read exactly what was past the committed offsets: a test that can see a re-fold.
  assert.equal(
    figures.restart.foldedAfter + figures.restart.skippedAfter,
    figures.restart.logEnd - figures.restart.committedAtShutdown,
  )
  assert.equal(figures.topicEvents, figures.restart.logEnd)
})
