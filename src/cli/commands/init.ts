// `strata init`: the two files a new project needs, in the current folder: a strata.config.ts
// that imports the installed package by its name (a small commented example, the shape of
// examples/pageviews/strata.config.ts) and a .env.example listing the environment variables
// the commands read. An existing file is left alone unless --force: a user's views are not
// overwritten by a typo.
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { DEFAULT_CONFIG_FILE } from '../../core/config-loader.ts'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import { packageInfo } from '../../core/package-info.ts'

interface InitFlags {
  force?: boolean
}

export function configTemplate(packageName: string): string {
  return `// Strata's views: each one is folded by the batch layer over the whole master dataset and by
// the speed layer over recent events; queries merge both (GET /views/<view>/<key>).
// Events are JSON objects, e.g. { "type": "page_view", "url": "/a", "user": "u42", "ts": 1767225600000 }.
import { count, defineConfig, distinctCount, topK, tumbling, view } from '${packageName}/config'

export default defineConfig({
  // The Kafka topic the events go to (created with these partitions when missing, with the
  // cluster's default.replication.factor; the embedded log uses the same count) and the field that
  // holds each event's time (epoch ms or ISO 8601). Choose the partitions before the first start:
  // they cannot change later without a reset (docs/operations.md#choosing-the-partition-count).
  source: { topic: 'events', partitions: 6, time: 'ts' },
  views: [
    // Page views per URL per hour.
    view('pageviews_by_url')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    // Distinct users per URL per day, over every event type (a HyperLogLog sketch).
    view('unique_users_by_url')
      .key((e) => e.url)
      .window(tumbling('1d'))
      .aggregate(distinctCount((e) => e.user)),
    // The 10 most viewed URLs of all time, under the single key 'all'.
    view('top_urls')
      .filter((e) => e.type === 'page_view')
      .key(() => 'all')
      .aggregate(topK(10, (e) => e.url)),
  ],
})
`
}

export const envTemplate = `# The environment the strata commands read; each variable mirrors a flag, and a flag wins.
# Strata does not load this file itself: copy it to .env, fill it in, and export it
# (\`set -a; . ./.env; set +a\`, systemd's EnvironmentFile=, docker run --env-file .env).

# Kafka bootstrap brokers. Unset: \`strata start\` runs on the embedded log (no Kafka, no Java).
# STRATA_BROKERS=127.0.0.1:9092

# Where the serving views are stored: unset for the embedded store in the data folder, or a
# PostgreSQL URL (its password is never printed).
# STRATA_STORE=postgres://strata@127.0.0.1:5432/strata

# The view definitions (default ./strata.config.ts) and the data folder: the master dataset and
# the embedded store (default ./.strata/data).
# STRATA_CONFIG=strata.config.ts
# STRATA_DATA=.strata/data

# The HTTP port of the API and the dashboard (default 8080).
# STRATA_PORT=8080

# Host names the HTTP server answers to, comma-separated (default: loopback names and --host).
# STRATA_ALLOWED_HOSTS=strata.example.com

# A bearer token required on POST /events and /metrics: the token itself, or a file whose first
# line is the token (the file keeps it out of the process environment).
# STRATA_TOKEN=change-me
# STRATA_TOKEN_FILE=/run/secrets/strata-token
# Require the token on queries and the dashboard's data too.
# STRATA_PROTECT_QUERIES=true
`

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(`write a ${DEFAULT_CONFIG_FILE} and a .env.example into the current folder`)
    .option('-f, --force', 'overwrite the files if they exist')
    .addHelpText(
      'after',
      `
Then: strata start --config ${DEFAULT_CONFIG_FILE}   # the embedded pipeline on http://127.0.0.1:8080`,
    )
    .action(async (flags: InitFlags) => {
      const files: [string, string][] = [
        [DEFAULT_CONFIG_FILE, configTemplate(packageInfo().name)],
        ['.env.example', envTemplate],
      ]
      if (!flags.force) {
        const existing = files.map(([name]) => name).filter((name) => existsSync(resolve(name)))
        if (existing.length > 0) {
          throw invalidInput(
            ErrorCodes.INVALID_ARGUMENT,
            `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''} here: nothing written (--force overwrites)`,
            { field: 'force' },
          )
        }
      }
      for (const [name, text] of files) {
        await writeFile(resolve(name), text)
        console.log(`wrote ${name}`)
      }
    })
}
