// `strata start` on Kafka under a burst of POST /events well above the burst rate
// (src/runtime/ingest-burst.ts: the archiver's and the speed layer's threads hold their batches,
// the compactor its passes, while it lasts): every acknowledged event is folded once — nothing
// lost, nothing doubled — and archived once, after the burst.
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

test('strata start: a burst of POST /events above the burst rate is folded exactly once after the hold', async (t) => {
  let started: Started | undefined
  const { dir, args } = await kafkaStart(t, 'burst', () => started)
  args.push('--segment-age', '1s')
  started = await startStrata(dir, args, 1)
  const { url } = started
  // 40,000 events in 40 requests, all at once: the burst rate is 15,000 events in 100 ms.
  const events = pageViews(40_000, 19)
  await postEvents(url, events)
  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= events.length,
    'the speed layer to cover the burst',
  )
  assert.equal(covered(await answer(url, 'pageviews_by_url', '/a')), events.length)
  assert.deepEqual(await lostAndDuplicated(url, events), { lost: 0, duplicated: 0 })
  // The archiver took every record in too, once (its counter on /metrics, the segments written).
  const archived = async () => {
    const text = await (await fetch(`${url}/metrics`)).text()
    const line = text
      .split('\n')
      .find((l) => /^strata_role_progress_total\{[^}]*role="archiver"[^}]*what="records"/.test(l))
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  await waitFor(async () => (await archived()) >= events.length, 'the archiver to take the burst in')
  assert.equal(await archived(), events.length)
})
