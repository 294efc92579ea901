// One changed byte in the middle of an embedded-log active segment (bit rot, a stray write)
// while strata is stopped: the next start must refuse, naming the file and byte, keep a copy
// and cut nothing; with the byte restored (from a backup) strata serves every acknowledged event.
import { readdir, readFile, writeFile } from 'node:fs/promises'
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
  name: 'damaged-active-segment',
  description:
    'one byte of an acknowledged record in the middle of an active segment is changed while strata is stopped',
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
      // The partition that took the 1000-event request: one byte of record 500 (a quote) changed.
      const master = join(data, 'master', 'events')
      let file = ''
      let original = Buffer.alloc(0)
      for (const p of await readdir(master)) {
        const path = join(master, p, '00000000000000000000.active')
        const bytes = await readFile(path).catch(() => Buffer.alloc(0))
        if (bytes.toString().split('\n').length > 1000) [file, original] = [path, bytes]
      }
      const lines = original.toString().split('\n')
      lines[500] = lines[500]!.replace('"user":"u', '"user": u')
      await writeFile(file, lines.join('\n'))
      const refused = await startRefused(data, args)
      const code = refused.output.match(/STRATA_ERR_[A-Z_]+/)?.[0]
      if (refused.code !== 'still serving') countRefusal(outcome.refusals, code)
      const named = /is damaged at byte \d+/.test(refused.output)
      const intact = (await readFile(file)).toString() === lines.join('\n')
      const copies = (await readdir(join(file, '..'))).filter((n) => n.includes('.damaged-')).length
      context.log(
        `refused: exit ${refused.code}, ${code}; file named: ${named}; not cut: ${intact}; copies: ${copies}`,
      )
      const served = refused.code === 'still serving'
      // Refused: the operator restores the byte (a backup of the disk) and everything acknowledged
      // is served. Served anyway (the old behaviour): what that start made of the log is checked.
      if (!served) await writeFile(file, original)
      strata = await startOn(context.dir, data, 2, args)
      const records = served ? acknowledged.length - 700 : acknowledged.length
      Object.assign(outcome, await compareViews(strata.url, records, acknowledged, []))
      // The views may still count what the log lost (the store is ahead): the log is checked too.
      outcome.lost = Math.max(outcome.lost, acknowledged.length - (await masterRecords(data)))
      outcome.summary =
        `start after the damage: ${refused.code === 'still serving' ? 'served the damaged log' : `exit ${refused.code}, ${code}`}` +
        `; file and byte named: ${named}; file left uncut: ${intact}; quarantined copies: ${copies}`
      return outcome
    } finally {
      await stop(strata).catch(() => undefined)
    }
  },
}

export default hazard
