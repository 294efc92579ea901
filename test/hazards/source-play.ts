// What the source hazard cases (cases/demo-then-kafka-same-data.ts, topic-recreated.ts,
// empty-cluster-production-shape.ts) share: events POSTed and recorded when acknowledged, a
// refused start read for its code, and the views' answers compared with the acknowledged events.
import { type SpawnedStrata, spawnStrata } from '../helpers/process.ts'
import { answer, covered, hourlyCounts, type PageView, waitFor } from '../runtime/start-helpers.ts'

export const URLS = ['/a', '/b', '/c', '/d']

/** POSTs the events in chunks; returns those acknowledged (202). */
export async function postEvents(url: string, events: PageView[], chunk = 200): Promise<PageView[]> {
  const acked: PageView[] = []
  for (let i = 0; i < events.length; i += chunk) {
    const slice = events.slice(i, i + chunk)
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: slice.map((e) => JSON.stringify(e)).join('\n'),
    })
    await res.arrayBuffer()
    if (res.status === 202) acked.push(...slice)
  }
  return acked
}

/**
 * Waits until the answers cover `offsets` records, then compares pageviews_by_url with the
 * reference of `acked`: events missing from the answers are lost, extra ones duplicated.
 */
export async function compareAnswers(
  url: string,
  acked: PageView[],
  offsets = acked.length,
): Promise<{ lost: number; duplicated: number }> {
  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= offsets,
    'the answers to cover the acknowledged events',
    60_000,
  ).catch(() => undefined) // what is not covered then shows as lost below
  let lost = 0
  let duplicated = 0
  for (const key of URLS) {
    const got = new Map(
      (await answer(url, 'pageviews_by_url', key)).windows.map((w) => [w.windowStart, w.value]),
    )
    const want = new Map(hourlyCounts(acked, key))
    for (const hour of new Set([...got.keys(), ...want.keys()])) {
      const diff = (want.get(hour) ?? 0) - (got.get(hour) ?? 0)
      if (diff > 0) lost += diff
      else duplicated -= diff
    }
  }
  return { lost, duplicated }
}

/** Runs a strata command that should be refused; returns its code (or what happened instead). */
export async function refusalOf(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: string; output: string }> {
  const spawned: SpawnedStrata = spawnStrata(args)
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), timeoutMs)
  const exit = await spawned.exited
  clearTimeout(timer)
  const code = /\[(STRATA_ERR_[A-Z_]+)\]/.exec(spawned.output())?.[1]
  return { code: exit === 1 && code ? code : `not refused (exit ${exit})`, output: spawned.output() }
}

export function countRefusal(refusals: Record<string, number>, code: string): void {
  if (code.startsWith('STRATA_ERR_')) refusals[code] = (refusals[code] ?? 0) + 1
}
