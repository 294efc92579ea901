// Zeros over the last acknowledged records of an embedded-log active segment, to the end of the
// file (a lost write of their pages, a careless dd), while strata is stopped: no valid record
// follows them, so before session 15 the next start cut them as a torn tail and served the log
// without them. It must refuse, naming the file and byte, keep a copy and cut nothing; with the
// bytes restored (from a backup) strata serves every acknowledged event.
import { readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { emptyOutcome, type HazardCase, type HazardOutcome } from '../outcome.ts'
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
} from '../storage-common.ts'

const hazard: HazardCase = {
  name: 'zeroed-active-tail',
  description:
    'the last 300 acknowledged records of an active segment are zeroed to the end of the file while strata is stopped',
  async run(context): Promise<HazardOutcome> {
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
      // The partition that took the 1000-event request: its records from the 900th on zeroed.
      const master = join(data, 'master', 'events')
      let file = ''
      let original = Buffer.alloc(0)
      for (const p of await readdir(master)) {
        const path = join(master, p, '00000000000000000000.active')
        const bytes = await readFile(path).catch(() => Buffer.alloc(0))
        if (bytes.toString().split('\n').length > 1000) [file, original] = [path, bytes]
      }
      const lines = original.toString().split('\n')
      const from = Buffer.byteLength(lines.slice(0, lines.length - 301).join('\n')) + 1
      const damaged = Buffer.from(original)
      damaged.fill(0, from)
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
      // Before session 15 the log cut the zeros as a torn tail and the start was refused only
      // because the store counted the records the log no longer had (STORE_AHEAD_OF_LOG), whose
      // way out is to move the store aside: the operator does, and strata serves the cut log.
      const storeAhead = code === 'STRATA_ERR_STORE_AHEAD_OF_LOG'
      if (storeAhead) await rename(join(data, 'store'), join(data, 'store.old'))
      const served = refused.code === 'still serving' || storeAhead
      // Refused on the log: the operator restores the bytes (a backup of the disk) and everything
      // acknowledged is served. Served anyway: what that start made of the log is checked.
      if (!served) await writeFile(file, original)
      strata = await startOn(context.dir, data, 2, args)
      const records = served ? acknowledged.length - 300 : acknowledged.length
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
  },
}

export default hazard
