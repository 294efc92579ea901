// The broker's jars, resolved by Maven from Maven Central (tools/kafka/pom.xml) and copied into
// `<state>/kafka/lib/kafka-<version>-<pom hash>/`. One folder per pom: a pom edit (a Kafka or
// log4j bump) makes a new folder instead of replacing the jars under a broker that still runs
// from the old one (a JVM opens its classpath jars lazily). A copy is complete only when its
// marker file `.complete` names the version and pom hash: Maven copies into a sibling
// `.partial-<pid>` folder that is renamed into place after the marker is written, so an
// interrupted run (or two starts racing) never leaves a half-filled folder that looks usable.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { defaultLibDir, kafkaHome, pomPath, stateHome } from './paths.ts'

const MARKER = '.complete'
const PROGRESS_EVERY_MS = 5000

export interface KafkaJarsOptions {
  /** State folder (default: STRATA_HOME or `<root>/.strata`). */
  home?: string
  /** Where the jars go (default `<home>/kafka/lib`). */
  libDir?: string
  /** Progress lines while Maven runs. */
  log?: (line: string) => void
}

export interface KafkaJars {
  libDir: string
  version: string
}

/** The Kafka version the pom asks for (its `kafka.version` property). */
export async function pomKafkaVersion(pom: string = pomPath()): Promise<string> {
  const text = await readFile(pom, 'utf8')
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(text)
  if (!match) throw new StrataError(ErrorCodes.CLUSTER, `${pom} has no <kafka.version> property`)
  return match[1]!.trim()
}

/** The pom's identity: its Kafka version and a prefix of its sha256. */
export async function pomIdentity(pom: string = pomPath()): Promise<{ version: string; hash: string }> {
  const hash = createHash('sha256')
    .update(await readFile(pom))
    .digest('hex')
  return { version: await pomKafkaVersion(pom), hash: hash.slice(0, 12) }
}

/** What `.complete` holds for the current pom. */
export async function completeMarker(pom: string = pomPath()): Promise<string> {
  const { version, hash } = await pomIdentity(pom)
  return `kafka ${version} pom ${hash}`
}

/** The jars for the current pom, copied once and reused while the marker matches. */
export async function ensureKafkaJars(options: KafkaJarsOptions = {}): Promise<KafkaJars> {
  const home = options.home ?? stateHome()
  const { version, hash } = await pomIdentity()
  const libDir = options.libDir ?? join(defaultLibDir(home), `kafka-${version}-${hash}`)
  const marker = await completeMarker()
  if ((await readMarker(libDir)) === marker) return { libDir, version }

  const log = options.log ?? (() => {})
  const staging = `${libDir}.partial-${process.pid}`
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  try {
    const mavenLog = join(kafkaHome(home), 'maven.log')
    log(`resolving Apache Kafka ${version} jars from Maven Central (output in ${mavenLog})`)
    const started = Date.now()
    await runMaven(staging, mavenLog, log)
    const jars = (await readdir(staging)).filter((name) => name.endsWith('.jar'))
    if (!jars.some((name) => name.startsWith(`kafka_2.13-${version}`))) {
      throw new StrataError(ErrorCodes.CLUSTER, `Maven copied no kafka_2.13-${version} jar; see ${mavenLog}`)
    }
    await writeFile(join(staging, MARKER), `${marker}\n`)
    // Another process may have finished first: its complete copy is as good as ours.
    if ((await readMarker(libDir)) !== marker) {
      await rm(libDir, { recursive: true, force: true })
      await rename(staging, libDir)
      log(`${jars.length} jars in ${libDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
    }
    return { libDir, version }
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
async function runMaven(outputDir: string, mavenLog: string, log: (line: string) => void): Promise<void> {
  await mkdir(join(mavenLog, '..'), { recursive: true })
  const out = createWriteStream(mavenLog)
  const args = [
    '-B',
    '-f',
    pomPath(),
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
        `mvn exited with ${code} while resolving Kafka jars; see ${mavenLog}`,
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
