// The data folder's disk fills up under `strata start` (embedded default): ingest must refuse
// with 507 STRATA_ERR_DISK_FULL and a log line, count nothing of a refused request (not after a
// restart either), and accept again by itself once space is freed.
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
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
  stop,
} from '../storage-common.ts'

/** The case, with the embedded store elsewhere (the log alone on the full disk) or beside the log. */
export function diskFullCase(
  name: string,
  description: string,
  storeOnTheFullDisk: boolean,
  shortCoveredBy?: string,
): HazardCase {
  return {
    name,
    description,
    needsRoot: true,
    ...(shortCoveredBy ? { shortCoveredBy } : {}),
    async run(context): Promise<HazardOutcome> {
      const outcome = emptyOutcome()
      const data = join(context.dir, 'data')
      await mkdir(data)
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', data])
      let strata: Awaited<ReturnType<typeof startOn>> | undefined
      try {
        await writeFile(join(data, 'ballast'), Buffer.alloc(1 << 20)) // what the operator frees later
        // The store elsewhere: the log alone meets the full disk; or the default layout, where the
        // LMDB store's commits fail too (the speed layer backs off, then goes on once space is back).
        const args = [
          '--segment-age',
          '1h',
          '--batch-interval',
          '1h',
          ...(storeOnTheFullDisk ? [] : ['--store', join(context.dir, 'store')]),
        ]
        strata = await startOn(context.dir, data, 1, args)
        const events = pageViews(context.short ? 20_000 : 40_000, 11).map((e) => ({
          ...e,
          pad: 'x'.repeat(700),
        }))
        const acknowledged: PageView[] = []
        const refused: PageView[] = []
        let next = 0
        let firstRefusal: string | undefined
        while (next < events.length) {
          const request = events.slice(next, next + 200)
          next += request.length
          const answer = await post(strata.url, request)
          if (answer.status === 202) {
            acknowledged.push(...request)
            continue
          }
          countRefusal(outcome.refusals, answer.code)
          refused.push(...request)
          firstRefusal ??= `${answer.status} ${answer.code}`
          if (refused.length >= 600) break // refused three times: the disk is full
        }
        context.log(`disk full after ${acknowledged.length} events: ${firstRefusal}`)
        const logLine = (await readFile(join(context.dir, 'strata-1.log'), 'utf8')).match(/.*is full.*/)?.[0]
        context.log(`log line: ${logLine ?? 'NONE'}`)
        await rm(join(data, 'ballast'))
        // Space is back: the same process accepts again, no restart.
        const after = events.slice(next, next + 200)
        const resumed = await post(strata.url, after)
        if (resumed.status === 202) acknowledged.push(...after)
        else countRefusal(outcome.refusals, resumed.code)
        outcome.acknowledged = acknowledged.length
        const live = await compareViews(strata.url, acknowledged.length, acknowledged, refused)
        await stop(strata)
        strata = undefined
        const inLog = await masterRecords(data)
        strata = await startOn(context.dir, data, 2, args)
        const restarted = await compareViews(strata.url, acknowledged.length, acknowledged, refused)
        outcome.lost = Math.max(live.lost, restarted.lost, acknowledged.length - inLog)
        outcome.duplicated = Math.max(live.duplicated, restarted.duplicated)
        outcome.partialCounted = Math.max(
          live.partialCounted,
          restarted.partialCounted,
          inLog - acknowledged.length,
        )
        outcome.summary =
          `${acknowledged.length} events acknowledged, ${refused.length} refused (${firstRefusal ?? 'no refusal'}); ` +
          `log line: ${logLine ? 'yes' : 'NO'}; after freeing space: ${resumed.status}; ` +
          `master dataset holds ${inLog} records after the refusals`
        return outcome
      } finally {
        if (strata) await stop(strata)
        execFileSync('umount', [data])
      }
    },
  }
}

// Full suite only: disk-full-default-layout plays the same full log (507, the log line, nothing
// of a refused request counted, accepting again once space is freed, exact after a restart)
// with the store on the full disk as well, so its short run checks all of this case and more.
export default diskFullCase(
  'disk-full-embedded',
  "the data folder's disk (a 6 MiB tmpfs, the store elsewhere) fills up while events are posted to strata start; space is freed later",
  false,
  'disk-full-default-layout',
)
