// A PostgreSQL of the fault suite's own: the machine's shared one on 5432 serves other tests and
// must never be restarted, so the suite runs a scratch cluster (initdb, trust auth) on a port of
// its own and restarts that one. PostgreSQL refuses to run as root, so every pg_ctl runs as the
// `postgres` user when we are root, in a folder that user owns.
import { execFile } from 'node:child_process'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface ScratchPostgres {
  url: string
  port: number
  dir: string
  /** The postmaster's pid, read from postmaster.pid (undefined when it is down). */
  pid(): Promise<number | undefined>
  /** `pg_ctl stop -m immediate`: no checkpoint, like a crash; the next start runs recovery. */
  crash(): Promise<void>
  start(): Promise<void>
  /** Stops it and deletes its folder. */
  destroy(): Promise<void>
}

function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

async function pg(command: string, args: string[]): Promise<string> {
  const [file, argv] = asPostgres(command, args)
  const { stdout } = await run(file, argv, { timeout: 120_000 })
  return stdout
}

export async function startScratchPostgres(port: number): Promise<ScratchPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-faults-pg-'))
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const data = join(dir, 'data')
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const start = async () => {
    // -k: the socket in our folder, not /var/run/postgresql (the shared server's).
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on`
    await pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'postgres.log'), '-w', 'start'])
  }
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async pid() {
      const text = await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => undefined)
      return text ? Number(text.split('\n')[0]) : undefined
    },
    async crash() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    },
    start,
    async destroy() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => '')
      await rm(dir, { recursive: true, force: true })
    },
  }
}
