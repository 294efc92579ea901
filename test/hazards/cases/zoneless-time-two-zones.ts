// Hazard: events carry times without a zone ("2026-01-01T00:30"), the speed layer runs in one
// time zone and the batch layer in another (servers in two regions, a laptop and a server).
// Before issue 11 each process read such a time in its own local zone, so the batch run moved
// events to other windows than the speed layer had them in; impossible dates (2026-02-30) were
// accepted and shifted. Now a zone-less time is UTC everywhere and impossible dates are refused
// with STRATA_ERR_INVALID_EVENT_TIME and the line number; every answer, from the speed layer in
// America/New_York and after a batch run in Asia/Kolkata, equals the UTC reference.
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, type SpawnedStrata, spawnStrata } from '../../helpers/process.ts'
import {
  answer,
  covered,
  exampleConfig,
  HOUR,
  lostAndDuplicated,
  type PageView,
  pageViews,
  waitFor,
} from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase, type HazardContext, type HazardOutcome } from '../outcome.ts'

/** The event as a producer that drops the zone would send it: UTC wall time, no offset. */
function zoneless(e: PageView, i: number): Record<string, unknown> {
  const iso = new Date(e.ts).toISOString().slice(0, 23) // 2025-11-24T10:00:00.000 (no Z)
  return { ...e, ts: i % 2 === 0 ? iso : iso.replace('T', ' ') }
}

async function start(dir: string, tz: string): Promise<{ strata: SpawnedStrata; url: string }> {
  const port = await freePort()
  const args = ['start', '--port', String(port), '--config', exampleConfig, '--data', dir]
  const strata = spawnStrata([...args, '--batch-interval', '1h', '--segment-age', '1s'], { TZ: tz })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => {
    if (strata.child.exitCode !== null) throw new Error(`strata start exited: ${strata.output()}`)
    return (await fetch(`${url}/health`).catch(() => undefined))?.ok === true
  }, `strata start in ${tz}`)
  return { strata, url }
}

async function stop(strata: SpawnedStrata): Promise<void> {
  strata.child.kill('SIGTERM')
  await strata.exited
}

async function run({ dir, short, log }: HazardContext): Promise<HazardOutcome> {
  const outcome = emptyOutcome()
  // Times around midnight UTC, where local readings in New York (-5 h) or Kolkata (+5:30) move
  // events to other hours and days.
  const events = pageViews(short ? 2000 : 20_000, 23).map((e) => ({ ...e, ts: e.ts + 14 * HOUR }))
  const acked: PageView[] = []
  let { strata, url } = await start(dir, 'America/New_York')
  try {
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500)
      const res = await fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: chunk.map((e, j) => JSON.stringify(zoneless(e, i + j))).join('\n'),
      })
      if (res.status === 202) acked.push(...chunk)
      else log(`POST ${i}: ${res.status} ${await res.text()}`)
    }
    // A request with an impossible date on line 3: refused whole, nothing of it counted.
    const bad = [
      ...events.slice(0, 2).map((e, j) => zoneless(e, j)),
      { ...zoneless(events[2]!, 0), ts: '2026-02-30T10:00' },
    ]
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: bad.map((e) => JSON.stringify(e)).join('\n'),
    })
    const body = (await res.json()) as { error?: { code?: string; line?: number } }
    if (res.status === 400 && body.error?.code === 'STRATA_ERR_INVALID_EVENT_TIME' && body.error.line === 3) {
      outcome.refusals.STRATA_ERR_INVALID_EVENT_TIME = 1
    } else log(`impossible date answered ${res.status} ${JSON.stringify(body)}`)
    outcome.acknowledged = acked.length
    await waitFor(
      async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= acked.length,
      'speed layer',
    )
    await sleep(500) // a refused request counted late would show now
    const speed = await lostAndDuplicated(url, acked)
    if (speed.duplicated > 0) outcome.partialCounted = speed.duplicated
    outcome.lost = speed.lost
    log(`speed layer in America/New_York: ${speed.lost} lost, ${speed.duplicated} extra`)
  } finally {
    await stop(strata)
  }

  const batch = spawnStrata(['batch', '--config', exampleConfig, '--data', dir], { TZ: 'Asia/Kolkata' })
  const batchExit = await batch.exited
  log(`strata batch in Asia/Kolkata: exit ${batchExit}: ${batch.output().trim().split('\n').at(-1)}`)
  ;({ strata, url } = await start(dir, 'Asia/Kolkata'))
  try {
    await waitFor(
      async () => (await answer(url, 'pageviews_by_url', '/a')).batch !== null,
      'the batch version',
    )
    const served = await answer(url, 'pageviews_by_url', '/a')
    log(`served: batch ${JSON.stringify(served.batch)}, asOf ${served.asOf.join(',')}`)
    const after = await lostAndDuplicated(url, acked)
    log(`after the batch run in Asia/Kolkata: ${after.lost} lost, ${after.duplicated} extra`)
    outcome.lost = Math.max(outcome.lost, after.lost)
    outcome.duplicated = after.duplicated
  } finally {
    await stop(strata)
  }
  outcome.summary = `zone-less times: speed (New York) and batch (Kolkata) both equal the UTC reference: ${outcome.lost} lost, ${outcome.duplicated} duplicated; an impossible date refused with its line`
  return outcome
}

const zonelessTimeTwoZones: HazardCase = {
  name: 'zoneless-time-two-zones',
  description:
    'Event times without a zone, the speed layer in America/New_York and the batch layer in Asia/Kolkata: both put every event in its UTC window; an impossible date is refused at the edge.',
  run,
}
export default zonelessTimeTwoZones
