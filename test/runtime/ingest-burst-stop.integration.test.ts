// `strata start` on Kafka stopped while a burst of POST /events holds its roles
// (src/runtime/ingest-burst.ts): killed (SIGKILL) right after the burst's last 202, then stopped
// (SIGTERM) right after a second burst's, then started again: every acknowledged event of both
// bursts is folded exactly once — a held batch is neither lost by a crash nor doubled by a stop
// that commits around it — and the SIGTERM stop ends cleanly (exit 0), its hold notwithstanding.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { kafkaStart, postEvents } from './kafka-start-helpers.ts'
import {
  answer,
  covered,
  lostAndDuplicated,
  pageViews,
  type Started,
  startStrata,
  waitFor,
} from './start-helpers.ts'

test('strata start: killed, then stopped, during a burst hold; restarted, every event folded once', async (t) => {
  let current: Started | undefined
  const { dir, args } = await kafkaStart(t, 'burst-stop', () => current)
  args.push('--segment-age', '1s')
  const first = pageViews(40_000, 31)
  const second = pageViews(40_000, 37)

  current = await startStrata(dir, args, 1)
  // 40 concurrent POSTs of 1,000 events: 40,000 at once, far above the burst rate.
  await postEvents(current.url, first)
  current.child.kill('SIGKILL') // inside the burst's linger: the roles are held
  await current.exited

  current = await startStrata(dir, args, 2)
  await postEvents(current.url, second)
  current.child.kill('SIGTERM')
  assert.equal(await current.exited, 0, 'a stop during a hold ends cleanly')

  current = await startStrata(dir, args, 3)
  const all = [...first, ...second]
  const url = current.url
  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= all.length,
    'the speed layer to cover both bursts',
  )
  assert.equal(covered(await answer(url, 'pageviews_by_url', '/a')), all.length)
  assert.deepEqual(await lostAndDuplicated(url, all), { lost: 0, duplicated: 0 })
})
