// What the storage hazard cases (cases/disk-full-embedded.ts, active-damage.ts for two more,
// deleted-sealed-segment.ts) share: `strata start` on a data folder of the case's, posting page
// views, and checking the views and the master dataset against the acknowledged events.
import { setTimeout } from 'node:timers/promises'
import { listPartitions, readRecords } from '../../src/master-dataset/index.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'
import {
  answer,
  covered,
  exampleConfig,
  hourlyCounts,
  type PageView,
  type Started,
  startStrata,
  waitFor,
  windowsOf,
} from '../runtime/start-helpers.ts'

export { exampleConfig, type PageView, pageViews } from '../runtime/start-helpers.ts'

export const URLS = ['/a', '/b', '/c', '/d']

/** `strata start` on `data`, its output in `logDir`/strata-<n>.log; resolves once /health is up. */
export function startOn(logDir: string, data: string, n: number, extra: string[] = []): Promise<Started> {
  return startStrata(logDir, ['--config', exampleConfig, '--data', data, ...extra], n)
}

export async function stop(started: Started): Promise<void> {
  started.child.kill('SIGTERM')
  await started.exited
}

/** A start that must refuse: resolves with its exit code and output (or 'still serving'). */
export async function startRefused(
  data: string,
  extra: string[] = [],
): Promise<{ code: number | null | 'still serving'; output: string }> {
  const started = spawnStrata([
    'start',
    '--port',
    String(await freePort()),
    '--config',
    exampleConfig,
    '--data',
    data,
    ...extra,
  ])
  const code = await Promise.race([
    started.exited,
    setTimeout(30_000, 'still serving' as const, { ref: false }),
  ])
  if (code === 'still serving') {
    started.child.kill('SIGKILL')
    await started.exited
  }
  return { code, output: started.output() }
}

export async function post(
  url: string,
  events: PageView[],
): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } }
  return { status: res.status, code: body.error?.code }
}

export function countRefusal(refusals: Record<string, number>, code: string | undefined): void {
  const key = code ?? 'unknown'
  refusals[key] = (refusals[key] ?? 0) + 1
}

/**
 * Waits until the views cover `records` log records, then compares pageviews_by_url with the
 * acknowledged events: page views missing are lost; extra ones are events of refused requests
 * counted (when `refused` could account for them) or duplicates.
 */
export async function compareViews(
  url: string,
  records: number,
  acknowledged: PageView[],
  refused: PageView[],
): Promise<{ lost: number; duplicated: number; partialCounted: number }> {
  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= records,
    'views to cover the log',
  )
  let lost = 0
  let extra = 0
  let extraRefusable = 0
  for (const key of URLS) {
    const got = new Map(windowsOf(await answer(url, 'pageviews_by_url', key)))
    const want = new Map(hourlyCounts(acknowledged, key))
    const refusedCounts = new Map(hourlyCounts(refused, key))
    for (const window of new Set([...got.keys(), ...want.keys()])) {
      const diff = (got.get(window) ?? 0) - (want.get(window) ?? 0)
      if (diff < 0) lost -= diff
      if (diff > 0) {
        extra += diff
        extraRefusable += Math.min(diff, refusedCounts.get(window) ?? 0)
      }
    }
  }
  return { lost, duplicated: extra - extraRefusable, partialCounted: extraRefusable }
}

/** Records in the master dataset of the example topic under `data` (read while strata is stopped). */
export async function masterRecords(data: string): Promise<number> {
  const root = `${data}/master/events`
  let n = 0
  for (const p of await listPartitions(root))
    for await (const records of readRecords(root, p)) n += records.length
  return n
}
