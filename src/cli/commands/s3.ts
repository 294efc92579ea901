// `strata s3 start|stop|status`: the local S3-compatible server (S3Proxy, filesystem backend) for
// development and tests (src/s3-server/). Progress goes to stderr; `start` prints the environment
// a client needs on stdout, so `eval "$(strata s3 start)"` points the AWS SDK (and Strata's
// `--master s3://strata/…`) at it.
import type { Command } from 'commander'
import { port } from '../options.ts'

const progress = (line: string) => process.stderr.write(`${line}\n`)

const STATE_HELP = `
State lives in .strata/s3/ at the project root (env STRATA_HOME overrides .strata):
  lib/               the jars Maven resolved from Maven Central (tools/s3proxy/pom.xml), per pom
  server-<port>/     one server: data/<bucket>/ (the filesystem backend), stdout.log, pid,
                     server.json (endpoint and the local credentials)`

export function registerS3Commands(program: Command): void {
  const s3 = program
    .command('s3')
    .description(
      'run a local S3-compatible server (S3Proxy from Maven Central, filesystem backend) on loopback',
    )
    .addHelpText('after', STATE_HELP)

  s3.command('start')
    .description('start the local S3-compatible server (idempotent) and print the environment for clients')
    .option('-p, --port <n>', 'the port on 127.0.0.1', port('--port'), 9000)
    .option('-b, --bucket <name...>', 'buckets to create (default: strata)')
    .option('--fresh', 'stop the server if it runs and wipe its data')
    .addHelpText(
      'after',
      `
The first start resolves the S3Proxy jars with Maven (a few minutes with an empty ~/.m2); it
returns once the server answers, and prints on stdout:
  export AWS_ACCESS_KEY_ID=strata-local AWS_SECRET_ACCESS_KEY=… AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL=http://127.0.0.1:9000 STRATA_S3_PATH_STYLE=1
Running it again while the server is up only reports it.

Examples:
  eval "$(strata s3 start)"
  strata worker archiver --brokers 127.0.0.1:9092 --master s3://strata/events`,
    )
    .action(async (flags: { port: number; bucket?: string[]; fresh?: boolean }) => {
      const { startS3Server } = await import('../../s3-server/index.ts')
      const started = Date.now()
      const server = await startS3Server({
        port: flags.port,
        fresh: flags.fresh === true,
        ...(flags.bucket ? { buckets: flags.bucket } : {}),
        log: progress,
      })
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      progress(
        server.alreadyRunning
          ? `the S3-compatible server is already running at ${server.endpoint} (pid ${server.pid})`
          : `the S3-compatible server is up at ${server.endpoint} in ${seconds} s (pid ${server.pid})`,
      )
      process.stdout.write(
        `export AWS_ACCESS_KEY_ID=${server.accessKeyId} AWS_SECRET_ACCESS_KEY=${server.secretAccessKey} AWS_REGION=${server.region}\n` +
          `export AWS_ENDPOINT_URL=${server.endpoint} STRATA_S3_PATH_STYLE=1\n`,
      )
    })

  s3.command('stop')
    .description('stop the local S3-compatible server: SIGTERM, SIGKILL after 10 s')
    .option('-p, --port <n>', 'the port it was started on', port('--port'), 9000)
    .action(async (flags: { port: number }) => {
      const { stopS3Server } = await import('../../s3-server/index.ts')
      progress(
        (await stopS3Server({ port: flags.port }))
          ? 'stopped the S3-compatible server'
          : 'no S3-compatible server of ours was running',
      )
    })

  s3.command('status')
    .description(
      'show the server (pid, alive, whether it answers, data folder, log file); exit 3 when it does not answer',
    )
    .option('-p, --port <n>', 'the port it was started on', port('--port'), 9000)
    .option('--json', 'print the status as JSON')
    .action(async (flags: { port: number; json?: boolean }) => {
      const { s3ServerStatus } = await import('../../s3-server/index.ts')
      const status = await s3ServerStatus({ port: flags.port })
      const text = flags.json
        ? JSON.stringify(status, null, 2)
        : `S3-compatible server at ${status.endpoint}: ${status.answers ? 'answers' : 'does not answer'}; ${status.alive ? `pid ${status.pid}` : 'not running'}\n  folder ${status.dir}\n  log    ${status.logFile}`
      process.stdout.write(`${text}\n`)
      // As `strata spark status` (and LSB's status actions): 3 when it is not up, for scripts.
      if (!status.answers) process.exitCode = 3
    })
}
