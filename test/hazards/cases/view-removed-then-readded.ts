// A view is taken out of the config and later put back unchanged (same code hash): strata runs
// without it for a while, events flow, then runs with it again. The view must come back exact —
// counting the events posted while it was out, from the master dataset — not resume its old
// realtime states past them (docs/horizon.md, "Views added, changed or taken out").
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { answer, covered, startStrata, waitFor } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase, type HazardOutcome } from '../outcome.ts'
import {
  compareViews,
  countRefusal,
  exampleConfig,
  type PageView,
  pageViews,
  post,
  stop,
} from '../storage-common.ts'

const hazard: HazardCase = {
  name: 'view-removed-then-readded',
  description: 'a view is taken out of the config, events flow, and the same definition is put back',
  async run(context): Promise<HazardOutcome> {
    const outcome = emptyOutcome()
    const data = join(context.dir, 'data')
    // The example config without pageviews_by_url: the same source, the other views as they are.
    const without = join(context.dir, 'without.config.ts')
    const api = pathToFileURL(join(import.meta.dirname, '../../../src/config.ts')).href
    await writeFile(
      without,
      `import { defineConfig } from '${api}'
import example from '${pathToFileURL(exampleConfig).href}'
export default defineConfig({ source: example.source, views: example.views.filter((v) => v.name !== 'pageviews_by_url') })
`,
    )
    const args = ['--segment-age', '1s', '--batch-interval', '2s']
    const rounds = context.short ? 3 : 8
    const acknowledged: PageView[] = []
    let seed = 1
    const postRounds = async (url: string) => {
      for (let i = 0; i < rounds; i++) {
        const request = pageViews(50, seed++)
        const res = await post(url, request)
        if (res.status === 202) acknowledged.push(...request)
        else countRefusal(outcome.refusals, res.code)
      }
    }
    const phases: Array<[string, string]> = [
      ['with the view', exampleConfig],
      ['without it', without],
      ['with it again', exampleConfig],
    ]
    for (const [n, [phase, config]] of phases.entries()) {
      const strata = await startStrata(context.dir, ['--config', config, '--data', data, ...args], n + 1)
      try {
        await postRounds(strata.url)
        outcome.acknowledged = acknowledged.length
        // Each phase ends once the speed layer has what was posted (a view every config has).
        await waitFor(
          async () => covered(await answer(strata.url, 'unique_users_by_url', '/a')) >= acknowledged.length,
          `${phase}: the speed layer to cover the log`,
        )
        if (n === phases.length - 1) {
          Object.assign(outcome, await compareViews(strata.url, acknowledged.length, acknowledged, []))
          const final = await answer(strata.url, 'pageviews_by_url', '/a')
          outcome.summary = `pageviews_by_url out of the config for ${rounds * 50} events, then back: ${outcome.lost} lost, ${outcome.duplicated} doubled (batch version ${final.batch?.version ?? 'none'})`
        }
      } finally {
        await stop(strata).catch(() => undefined)
      }
      context.log(`${phase}: ${acknowledged.length} events acknowledged`)
    }
    return outcome
  },
}

export default hazard
