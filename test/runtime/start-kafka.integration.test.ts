// Issue 4's end-to-end check on real Kafka: `strata start --brokers`, events from kcat and from
// POST /events, exact answers at once, after a batch run, and after kill -9 and a restart.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { BACKGROUND_NICE } from '../../src/core/thread-priority.ts'
import { brokers } from '../helpers/kafka.ts'
import { threadNames, threadNices } from '../helpers/threads.ts'
import { kafkaStart, postEvents } from './kafka-start-helpers.ts'
import {
  answer,
  covered,
  hourlyCounts,
  pageViews,
  type Started,
  startStrata,
  waitFor,
  windowsOf,
} from './start-helpers.ts'

test('strata start on Kafka: kcat and HTTP events, exact before and after a batch run and a kill -9', async (t) => {
  // Started below; the cleanup kills whichever is running when the test ends.
  let current: Started
  const { dir, topic, args } = await kafkaStart(t, 'start-kafka', () => current)
  args.push(
    '--batch-interval',
    '3s',
    '--segment-age',
    '1s',
    // The restart after kill -9 below joins groups that still hold the killed members until
    // their session times out: 6 s (Kafka's least) rather than the default 30 s.
    '--session-timeout',
    '6s',
  )
  current = await startStrata(dir, args, 1)

  const events = pageViews(1500, 9)
  const exactFor = async (sent: typeof events) => {
    await waitFor(
      async () => covered(await answer(current.url, 'pageviews_by_url', '/a')) >= sent.length,
      'asOf to cover the events',
    )
    for (const url of ['/a', '/b', '/c', '/d']) {
      const got = await answer(current.url, 'pageviews_by_url', url)
      assert.equal(covered(got), sent.length)
      assert.deepEqual(windowsOf(got), hourlyCounts(sent, url), url)
    }
  }
  // 500 events with kcat (keyed by user, Java's partitioner), 500 over HTTP.
  const kcatInput = events
    .slice(0, 500)
    .map((e) => `${e.user}\t${JSON.stringify(e)}`)
    .join('\n')
  execFileSync('kcat', ['-b', brokers, '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'], {
    input: kcatInput,
  })
  await postEvents(current.url, events.slice(500, 1000))
  await exactFor(events.slice(0, 1000))

  await waitFor(
    async () => (await answer(current.url, 'pageviews_by_url', '/a')).batch !== null,
    'a batch version',
  )
  await exactFor(events.slice(0, 1000))
  assertBackgroundThreadsNiced(current.child.pid!)

  current.child.kill('SIGKILL')
  await current.exited
  current = await startStrata(dir, args, 2)
  await exactFor(events.slice(0, 1000))
  // The flag reached both roles, each in its own thread (their start lines say so).
  await waitFor(async () => {
    const log = await readFile(join(dir, 'strata-2.log'), 'utf8')
    return (
      /archiving .*, session timeout 6s/.test(log) && /speed layer running .*, session timeout 6s/.test(log)
    )
  }, 'the archiver and the speed layer to start with a 6 s session timeout')
  await postEvents(current.url, events.slice(1000))
  await exactFor(events)
})

/**
 * Beside its HTTP server, `strata start` runs the archiver's thread below the main thread
 * (core/thread-priority.ts; the batch layer's threads too, while pooled), and the speed layer's
 * thread and its fold thread at the main thread's own priority: what they fold is what queries
 * wait to see (decision 0013, "Priorities"). Threads are told apart by their names. Linux only;
 * not checkable when the test itself runs at or below that priority already.
 */
function assertBackgroundThreadsNiced(pid: number): void {
  if (process.platform !== 'linux') return
  const nices = threadNices(pid)
  const names = threadNames(pid)
  const main = nices.get(pid)!
  if (main >= BACKGROUND_NICE) return
  assert.equal(
    main,
    threadNices().get(process.pid),
    'the main thread keeps the nice value it was started with',
  )
  const niceOf = (name: string) => [...names].filter(([, n]) => n === name).map(([tid]) => nices.get(tid))
  assert.deepEqual(niceOf('strata archiver'), [BACKGROUND_NICE], 'the archiver thread, below the server')
  assert.deepEqual(niceOf('strata speed'), [main], "the speed layer thread, at the server's priority")
  const folds = niceOf('strata fold')
  assert.ok(folds.length >= 1, `fold threads: ${[...names.values()].join(', ')}`)
  for (const nice of folds) assert.equal(nice, main, "a fold thread, at the server's priority")
}
