// `strata query VIEW KEY`: the merged answer for one key, as JSON, read from the store (or from
// a running server with --url).
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { compileViews } from '../../core/config.ts'
import { ErrorCodes, invalidInput, StrataError } from '../../core/errors.ts'
import { checkTimeRange, parseTimeBound } from '../../core/time-range.ts'
import { createLogger } from '../../runtime/logger.ts'
import { checkRoleSource } from '../../runtime/source-identity.ts'
import { defaultStartupTimeout } from '../../runtime/startup.ts'
import { queryView } from '../../serving/query.ts'
import { addCommonOptions, type CommonFlags, type Context, resolveContext } from '../context.ts'
import { flagDuration } from '../options.ts'
import { resolveHttpAuth } from '../security.ts'
import { resolvePaths } from '../settings.ts'

interface QueryFlags extends CommonFlags {
  startupTimeout: string
  from?: string
  to?: string
  url?: string
}

export function registerQueryCommand(program: Command): void {
  addCommonOptions(
    program
      .command('query')
      .description('print the answer of a view for one key, with its batch version, horizon and asOf')
      .argument('<view>', 'view name, e.g. pageviews_by_url')
      .argument('<key>', 'the key, e.g. /a'),
  )
    .option('--from <time>', 'first window start to include (epoch ms or ISO-8601)')
    .option('--to <time>', 'end of the time range, exclusive (epoch ms or ISO-8601)')
    .option(
      '-u, --url <url>',
      'ask a running server (e.g. http://127.0.0.1:8080) instead of reading the store; sends the token of STRATA_TOKEN_FILE or STRATA_TOKEN',
    )
    .option(
      '--startup-timeout <duration>',
      "how long PostgreSQL's first answer (connect and a first query) may take with --store postgres://… (a server that takes the connection and never answers), then exit 1 with STRATA_ERR_STORE_UNAVAILABLE",
      defaultStartupTimeout,
    )
    .action(async (viewName: string, key: string, flags: QueryFlags) => {
      const firstAnswerTimeoutMs = flagDuration(flags.startupTimeout, '--startup-timeout')
      const from = parseTimeBound(flags.from, 'from')
      const to = parseTimeBound(flags.to, 'to')
      if (flags.url) {
        const url = new URL(`/views/${encodeURIComponent(viewName)}/${encodeURIComponent(key)}`, flags.url)
        if (from !== undefined) url.searchParams.set('from', String(from))
        if (to !== undefined) url.searchParams.set('to', String(to))
        // The server's token, when this environment has one: a protected server needs it.
        const token = resolveHttpAuth({})?.token
        const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {}).catch(
          (cause) => {
            const reason = cause?.cause?.message ?? cause?.message ?? String(cause)
            throw new StrataError(
              ErrorCodes.UNREACHABLE,
              `no server answers at ${url.origin}/ (${reason}): is strata start running there? (--url)`,
              { cause, retriable: true },
            )
          },
        )
        const body = await res.text()
        if (!res.ok) {
          console.error(body)
          process.exitCode = 1
          return
        }
        console.log(JSON.stringify(JSON.parse(body), null, 2))
        return
      }
      const paths = resolvePaths(flags)
      const context = await resolveContext(paths)
      const view = compileViews(context.config).find((v) => v.name === viewName)
      if (!view) {
        const names = context.config.views.map((v) => v.name).join(', ')
        throw invalidInput(ErrorCodes.UNKNOWN_VIEW, `no view named "${viewName}" (views: ${names})`)
      }
      // A reader creates nothing: an embedded store that is not there means the wrong folder.
      if (context.lmdbPath !== undefined && !existsSync(context.lmdbPath))
        throw noData(context, paths.storeUrl !== undefined)
      const store = await context.openStore({ existing: true, firstAnswerTimeoutMs })
      try {
        await checkRoleSource('query', { ...context, store, logger: createLogger('query') })
        console.log(
          JSON.stringify(await queryView(store, view, key, { range: checkTimeRange({ from, to }) }), null, 2),
        )
      } finally {
        await store.close()
      }
    })
}

function noData(context: Context, storeGiven: boolean): StrataError {
  const where = storeGiven
    ? `no store at ${context.lmdbPath}`
    : `no data in ${context.dataDir} (no store at ${context.lmdbPath})`
  return new StrataError(
    ErrorCodes.NO_DATA,
    `${where}: give the data folder strata start wrote with --data DIR (or STRATA_DATA), or its store with --store; nothing was created`,
  )
}
