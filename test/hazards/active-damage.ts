// What the cases that damage an embedded-log active segment while strata is stopped share
// (cases/damaged-active-segment.ts, zeroed-active-tail.ts): two requests acknowledged (1000 and
// 200 page views), a clean stop, the damage done to the active segment of the partition that took
// the 1000, a start that must refuse naming the file and byte, keep a quarantined copy and cut
// nothing; then the bytes restored (the operator's backup) and every acknowledged event served.
// A start that served the damaged log anyway (the old behaviour) is measured for what it lost.
import { readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { emptyOutcome, type HazardContext, type HazardOutcome } from './outcome.ts'
import {
  compareViews,
  countRefusal,
  masterRecords,
  type PageView,
  pageViews,
  post,
  startOn,
  startRefused,
  stop,
} from './storage-common.ts'

export interface ActiveDamage {
  /** The damaged bytes of the active segment, from its original bytes (1000+ records). */
  damage(original: Buffer): Buffer
  /** The records a start that served the damaged log anyway would have lost. */
  lostIfServed: number
  /**
   * Refused as STRATA_ERR_STORE_AHEAD_OF_LOG (the log cut the damage as a torn tail, before
   * session 15), the operator moves the store aside as that refusal says and strata serves the
   * cut log: measured as served.
   */
  storeAheadWayOut?: boolean
}

export async function runActiveDamage(context: HazardContext, how: ActiveDamage): Promise<HazardOutcome> {
  const outcome = emptyOutcome()
  const data = join(context.dir, 'data')
  const args = ['--segment-age', '1h', '--batch-interval', '1h']
  let strata = await startOn(context.dir, data, 1, args)
  const acknowledged: PageView[] = []
  try {
    for (const request of [pageViews(1000, 21), pageViews(200, 22)]) {
      const answer = await post(strata.url, request)
      if (answer.status === 202) acknowledged.push(...request)
      else countRefusal(outcome.refusals, answer.code)
    }
    outcome.acknowledged = acknowledged.length
    await compareViews(strata.url, acknowledged.length, acknowledged, [])
    await stop(strata)
    const { file, original } = await activeOfTheThousand(data)
    const damaged = how.damage(original)
    await writeFile(file, damaged)
    const refused = await startRefused(data, args)
    const code = refused.output.match(/STRATA_ERR_[A-Z_]+/)?.[0]
    if (refused.code !== 'still serving') countRefusal(outcome.refusals, code)
    const named = /is damaged at byte \d+/.test(refused.output)
    const intact = (await readFile(file)).equals(damaged)
    const copies = (await readdir(join(file, '..'))).filter((n) => n.includes('.damaged-')).length
    context.log(
      `refused: exit ${refused.code}, ${code}; file named: ${named}; not cut: ${intact}; copies: ${copies}`,
    )
    const storeAhead = how.storeAheadWayOut === true && code === 'STRATA_ERR_STORE_AHEAD_OF_LOG'
    if (storeAhead) await rename(join(data, 'store'), join(data, 'store.old'))
    const served = refused.code === 'still serving' || storeAhead
    // Refused on the log: the operator restores the bytes (a backup of the disk) and everything
    // acknowledged is served. Served anyway: what that start made of the log is checked.
    if (!served) await writeFile(file, original)
    strata = await startOn(context.dir, data, 2, args)
    const records = served ? acknowledged.length - how.lostIfServed : acknowledged.length
    Object.assign(outcome, await compareViews(strata.url, records, acknowledged, []))
    // The views may still count what the log lost (the store is ahead): the log is checked too.
    outcome.lost = Math.max(outcome.lost, acknowledged.length - (await masterRecords(data)))
    outcome.summary =
      `start after the damage: ${refused.code === 'still serving' ? 'served the damaged log' : `exit ${refused.code}, ${code}`}${storeAhead ? ' (then, the store moved aside as that refusal says, served the cut log)' : ''}` +
      `; file and byte named: ${named}; file left uncut: ${intact}; quarantined copies: ${copies}`
    return outcome
  } finally {
    await stop(strata).catch(() => undefined)
  }
}

/** The active segment of the partition that took the 1000-event request, and its bytes. */
async function activeOfTheThousand(data: string): Promise<{ file: string; original: Buffer }> {
  const master = join(data, 'master', 'events')
  let file = ''
  let original = Buffer.alloc(0)
  for (const p of await readdir(master)) {
    const path = join(master, p, '00000000000000000000.active')
    const bytes = await readFile(path).catch(() => Buffer.alloc(0))
    if (bytes.toString().split('\n').length > 1000) [file, original] = [path, bytes]
  }
  return { file, original }
}
