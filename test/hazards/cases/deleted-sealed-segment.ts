// A partition's first sealed segment is deleted (a careless cleanup of "old files") while strata
// is stopped: the next start must refuse, naming the missing offsets, rather than let the batch
// layer recompute the views without those events; with the file put back, every acknowledged
// event is served.
import { copyFile, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout } from 'node:timers/promises'
import { waitFor } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase, type HazardOutcome } from '../outcome.ts'
import {
  compareViews,
  countRefusal,
  type PageView,
  pageViews,
  post,
  startOn,
  startRefused,
  stop,
} from '../storage-common.ts'

/** The sealed segments of partition 0, oldest first. */
async function sealedSegments(data: string): Promise<string[]> {
  const p0 = join(data, 'master', 'events', 'p0000')
  return (await readdir(p0).catch(() => [])).filter((n) => n.endsWith('.ndjson')).sort()
}

const hazard: HazardCase = {
  name: 'deleted-sealed-segment',
  description: "a partition's first sealed segment of the master dataset is deleted while strata is stopped",
  async run(context): Promise<HazardOutcome> {
    const outcome = emptyOutcome()
    const data = join(context.dir, 'data')
    const args = ['--segment-age', '1s', '--batch-interval', '2s']
    let strata = await startOn(context.dir, data, 1, args)
    const acknowledged: PageView[] = []
    try {
      // Keyless requests go to one partition each, rotating: two rounds, a seal in between.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 6; i++) {
          const request = pageViews(100, 100 + round * 6 + i)
          const answer = await post(strata.url, request)
          if (answer.status === 202) acknowledged.push(...request)
          else countRefusal(outcome.refusals, answer.code)
        }
        // Sealed by age (1 s; the log checks every 250 ms): p0000 took one request this round.
        await waitFor(
          async () => (await sealedSegments(data)).length > round,
          `p0000's round ${round} sealed`,
          30_000,
        )
      }
      outcome.acknowledged = acknowledged.length
      await compareViews(strata.url, acknowledged.length, acknowledged, [])
      await stop(strata)
      const p0 = join(data, 'master', 'events', 'p0000')
      const first = (await sealedSegments(data))[0]!
      await copyFile(join(p0, first), join(context.dir, first))
      await unlink(join(p0, first))
      const refused = await startRefused(data, args)
      const served = refused.code === 'still serving'
      const code = refused.output.match(/STRATA_ERR_[A-Z_]+/)?.[0]
      if (!served) countRefusal(outcome.refusals, code)
      const named = /offsets \[0, \d+\) are in no segment/.test(refused.output)
      context.log(
        `after deleting p0000/${first}: ${served ? 'served' : `exit ${refused.code}, ${code}`}; range named: ${named}`,
      )
      // Refused: the operator puts the file back. Served (the old behaviour): the views are
      // checked after a batch run over what is left.
      if (!served) await copyFile(join(context.dir, first), join(p0, first))
      strata = await startOn(context.dir, data, 2, args)
      // New events move the batch horizon, so the batch layer recomputes from the files.
      for (let i = 0; i < 6; i++) {
        const request = pageViews(20, 200 + i)
        const answer = await post(strata.url, request)
        if (answer.status === 202) acknowledged.push(...request)
      }
      outcome.acknowledged = acknowledged.length
      if (served) await setTimeout(15_000) // a batch run or two over what is left
      Object.assign(outcome, await compareViews(strata.url, acknowledged.length, acknowledged, []))
      outcome.summary = `start after deleting p0000/${first}: ${served ? 'served without those events' : `exit ${refused.code}, ${code}`}; missing range named: ${named}`
      return outcome
    } finally {
      await stop(strata).catch(() => undefined)
    }
  },
}

export default hazard
