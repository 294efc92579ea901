// Hazard: the embedded LMDB store (<data>/store/data.mdb) is damaged while strata is stopped: cut
// short (a copy interrupted, a full disk), one byte of its meta pages changed, a data page
// damaged, a page damaged under a running process. Before issue 11: SIGBUS or SIGSEGV at start (no message), or an unhandled MDB_BAD_TXN
// after "ready". Now `strata start` must exit 1 with one line naming STRATA_ERR_STORE_CORRUPT
// and the recovery, and the recovery (move the store folder aside, start again) must answer
// exactly what the acknowledged events say, from the speed layer and again after a batch run.
import { cp, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { damageLmdbStore, type LmdbDamage } from '../../helpers/lmdb-damage.ts'
import { freePort, spawnStrata } from '../../helpers/process.ts'
import {
  answer,
  covered,
  exampleConfig,
  lostAndDuplicated,
  type PageView,
  pageViews,
  startStrata,
  waitFor,
} from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase, type HazardContext, type HazardOutcome } from '../outcome.ts'

const DAMAGES: LmdbDamage[] = ['truncated', 'meta-page', 'data-page']

async function run({ dir, short, log }: HazardContext): Promise<HazardOutcome> {
  const outcome = emptyOutcome()
  const args = ['--config', exampleConfig, '--data', dir, '--batch-interval', '1s', '--segment-age', '1s']
  const events = pageViews(short ? 1500 : 20_000, 11)
  const acked: PageView[] = []
  let strata = await startStrata(dir, args, 1)
  try {
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500)
      const res = await fetch(`${strata.url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: chunk.map((e) => JSON.stringify(e)).join('\n'),
      })
      if (res.status === 202) acked.push(...chunk)
    }
    outcome.acknowledged = acked.length
    // A batch version served too, so the store holds both layers' rows when it is damaged.
    await waitFor(async () => {
      const a = await answer(strata.url, 'pageviews_by_url', '/a')
      return a.batch !== null && covered(a) >= acked.length
    }, 'a batch version and the speed layer to cover every event')
  } finally {
    strata.child.kill('SIGTERM')
    await strata.exited
  }

  const store = join(dir, 'store')
  const sound = join(dir, 'store.sound')
  await cp(store, sound, { recursive: true })
  const seen: string[] = []
  for (const kind of DAMAGES) {
    await rm(store, { recursive: true, force: true })
    await cp(sound, store, { recursive: true })
    const how = await damageLmdbStore(store, kind)
    const started = spawnStrata(['start', '--port', String(await freePort()), ...args])
    const timer = setTimeout(() => started.child.kill('SIGKILL'), 60_000)
    const code = await started.exited
    clearTimeout(timer)
    const lines = started.output().trim().split('\n')
    const refused = code === 1 && lines.length === 1 && lines[0]?.includes('[STRATA_ERR_STORE_CORRUPT]')
    log(`${kind} (${how}): exit ${code}, signal ${started.child.signalCode}: ${lines.join(' | ')}`)
    if (refused)
      outcome.refusals.STRATA_ERR_STORE_CORRUPT = (outcome.refusals.STRATA_ERR_STORE_CORRUPT ?? 0) + 1
    seen.push(`${kind}: ${refused ? 'refused' : `exit ${code} signal ${started.child.signalCode}`}`)
  }

  // Damage under a running process: the next store call meets it; the process must stop with
  // the same line (it was an unhandled MDB_BAD_TXN), and what it acknowledged meanwhile stays.
  await rm(store, { recursive: true, force: true })
  await cp(sound, store, { recursive: true })
  strata = await startStrata(dir, args, 4)
  const more = pageViews(short ? 300 : 3000, 12)
  try {
    await damageLmdbStore(store, 'data-page')
    const res = await fetch(`${strata.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: more.map((e) => JSON.stringify(e)).join('\n'),
    }).catch(() => undefined)
    if (res?.status === 202) acked.push(...more)
    outcome.acknowledged = acked.length
    await fetch(`${strata.url}/views/pageviews_by_url/%2Fa`).catch(() => undefined)
    const timer = setTimeout(() => strata.child.kill('SIGKILL'), 30_000)
    const code = await strata.exited
    clearTimeout(timer)
    const last = (await readFile(join(dir, 'strata-4.log'), 'utf8')).trim().split('\n').at(-1) ?? ''
    const refused = code === 1 && last.includes('[STRATA_ERR_STORE_CORRUPT]')
    log(`while running: exit ${code}, signal ${strata.child.signalCode}: ${last}`)
    if (refused)
      outcome.refusals.STRATA_ERR_STORE_CORRUPT = (outcome.refusals.STRATA_ERR_STORE_CORRUPT ?? 0) + 1
    seen.push(`while running: ${refused ? 'stopped' : `exit ${code} signal ${strata.child.signalCode}`}`)
  } finally {
    strata.child.kill('SIGKILL')
    await strata.exited
  }

  // The documented recovery: move the store aside, start again. First with no batch run due
  // (the answers come from the speed layer's re-fold of the log alone), then with one.
  await rename(store, join(dir, 'store.damaged'))
  const noBatch = args.map((a) => (a === '1s' ? '1h' : a))
  strata = await startStrata(dir, noBatch, 2)
  let speed: { lost: number; duplicated: number }
  try {
    await waitFor(
      async () => covered(await answer(strata.url, 'pageviews_by_url', '/a')) >= acked.length,
      'the speed layer to re-fold the log',
    )
    speed = await lostAndDuplicated(strata.url, acked)
    const served = await answer(strata.url, 'pageviews_by_url', '/a')
    log(
      `speed layer alone (batch ${JSON.stringify(served.batch)}): ${speed.lost} lost, ${speed.duplicated} extra`,
    )
  } finally {
    strata.child.kill('SIGTERM')
    await strata.exited
  }
  strata = await startStrata(dir, args, 3)
  try {
    await waitFor(
      async () => (await answer(strata.url, 'pageviews_by_url', '/a')).batch !== null,
      'the batch layer to recompute from the master dataset',
    )
    const batch = await lostAndDuplicated(strata.url, acked)
    log(`after a batch run: ${batch.lost} lost, ${batch.duplicated} extra`)
    outcome.lost = Math.max(speed.lost, batch.lost)
    outcome.duplicated = Math.max(speed.duplicated, batch.duplicated)
  } finally {
    strata.child.kill('SIGTERM')
    await strata.exited
  }
  outcome.summary = `${seen.join('; ')}; after moving the store aside: ${outcome.lost} lost, ${outcome.duplicated} duplicated (speed, then batch)`
  return outcome
}

const damagedLmdbStore: HazardCase = {
  name: 'damaged-lmdb-store',
  description:
    'The embedded LMDB store is truncated, its meta page or a data page damaged (also under a running process): strata refuses or stops with STRATA_ERR_STORE_CORRUPT, and moving the store aside recomputes every answer exactly.',
  run,
}
export default damagedLmdbStore
