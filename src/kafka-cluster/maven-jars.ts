// A pom's runtime jars, copied once by Maven from Maven Central into a folder of their own: the
// scheme every JVM component the project starts uses (Kafka here, S3Proxy in s3-server/). A copy is
// complete only when its marker file `.complete` holds the expected text: Maven copies into a
// sibling `.partial-<pid>` folder that is renamed into place after the marker is written, so an
// interrupted run (or two starts racing) never leaves a half-filled folder that looks usable.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'

const MARKER = '.complete'
const PROGRESS_EVERY_MS = 5000

export interface MavenCopy {
  /** The pom whose runtime dependencies are copied. */
  pom: string
  /** The folder the jars end in. */
  libDir: string
  /** What `.complete` holds when the copy is of this pom. */
  marker: string
  /** Maven's whole output, named in errors. */
  mavenLog: string
  /** What is resolved, for the lines ("Apache Kafka 4.4.0"). */
  what: string
  /** The jar a good copy must hold, by its file name, and how to name it in an error. */
  mainJar: { matches: (name: string) => boolean; name: string }
  log?: ((line: string) => void) | undefined
}

/** Copies the pom's jars into `libDir` unless a complete copy of it is there already. */
export async function copyMavenJars(copy: MavenCopy): Promise<void> {
  const { libDir, marker, mavenLog } = copy
  if ((await readMarker(libDir)) === marker) return
  const log = copy.log ?? (() => {})
  const staging = `${libDir}.partial-${process.pid}`
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  try {
    log(`resolving ${copy.what} jars from Maven Central (output in ${mavenLog})`)
    const started = Date.now()
    await runMaven(copy.pom, staging, mavenLog, copy.what, log)
    const jars = (await readdir(staging)).filter((name) => name.endsWith('.jar'))
    if (!jars.some(copy.mainJar.matches)) {
      throw new StrataError(ErrorCodes.CLUSTER, `Maven copied no ${copy.mainJar.name}; see ${mavenLog}`)
    }
    await writeFile(join(staging, MARKER), `${marker}\n`)
    // Another process may have finished first: its complete copy is as good as ours.
    if ((await readMarker(libDir)) !== marker) {
      await rm(libDir, { recursive: true, force: true })
      await rename(staging, libDir)
      log(`${jars.length} jars in ${libDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
    }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function readMarker(libDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(libDir, MARKER), 'utf8')).trim()
  } catch {
    return undefined
  }
}

// Maven runs in batch mode (not -q) so that its "Downloaded from" lines can be counted into a
// progress line every few seconds: an empty ~/.m2 takes a minute or more. Its full output goes to
// maven.log for the error message.
async function runMaven(
  pom: string,
  outputDir: string,
  mavenLog: string,
  what: string,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(join(mavenLog, '..'), { recursive: true })
  const out = createWriteStream(mavenLog)
  const args = [
    '-B',
    '-f',
    pom,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${outputDir}`,
    '-DincludeScope=runtime',
  ]
  const started = Date.now()
  let downloaded = 0
  let pending = ''
  const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const onData = (chunk: Buffer) => {
    out.write(chunk)
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (line.includes('Downloaded from')) downloaded++
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000)
    log(`  maven: ${seconds} s, ${downloaded} files downloaded so far`)
  }, PROGRESS_EVERY_MS)
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', resolve)
    })
    if (code !== 0) {
      throw new StrataError(
        ErrorCodes.CLUSTER,
        `mvn exited with ${code} while resolving ${what} jars; see ${mavenLog}`,
      )
    }
  } catch (error) {
    if (error instanceof StrataError) throw error
    throw new StrataError(
      ErrorCodes.CLUSTER,
      `cannot run mvn (is Maven installed?): ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  } finally {
    clearInterval(ticker)
    await new Promise((resolve) => out.end(resolve))
  }
}
