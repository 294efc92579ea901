// S3Proxy's jars, resolved by Maven from Maven Central (tools/s3proxy/pom.xml) into
// `<state>/s3/lib/s3proxy-<version>-<pom hash>/`, once: the same scheme as Kafka's jars
// (kafka-cluster/jars.ts): one folder per pom, complete only when `.complete` names the version and
// the pom hash, filled under a `.partial-<pid>` name and renamed into place.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { stateHome } from '../kafka-cluster/index.ts'
import { s3Home, s3PomPath } from './paths.ts'

const MARKER = '.complete'

export interface S3ProxyJars {
  libDir: string
  version: string
}

async function pomIdentity(): Promise<{ version: string; hash: string }> {
  const text = await readFile(s3PomPath())
  const match = /<s3proxy\.version>([^<]+)<\/s3proxy\.version>/.exec(text.toString('utf8'))
  if (!match) throw new StrataError(ErrorCodes.CLUSTER, `${s3PomPath()} has no <s3proxy.version> property`)
  return { version: match[1]!.trim(), hash: createHash('sha256').update(text).digest('hex').slice(0, 12) }
}

/** The jars for the current pom, copied once and reused while the marker matches. */
export async function ensureS3ProxyJars(
  options: { home?: string; log?: (line: string) => void } = {},
): Promise<S3ProxyJars> {
  const home = options.home ?? stateHome()
  const { version, hash } = await pomIdentity()
  const libDir = join(s3Home(home), 'lib', `s3proxy-${version}-${hash}`)
  const marker = `s3proxy ${version} pom ${hash}`
  if ((await readMarker(libDir)) === marker) return { libDir, version }
  const log = options.log ?? (() => {})
  const staging = `${libDir}.partial-${process.pid}`
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  try {
    const mavenLog = join(s3Home(home), 'maven.log')
    log(`resolving S3Proxy ${version} jars from Maven Central (output in ${mavenLog})`)
    await runMaven(staging, mavenLog)
    const jars = (await readdir(staging)).filter((name) => name.endsWith('.jar'))
    if (!jars.includes(`s3proxy-${version}.jar`)) {
      throw new StrataError(ErrorCodes.CLUSTER, `Maven copied no s3proxy-${version}.jar; see ${mavenLog}`)
    }
    await writeFile(join(staging, MARKER), `${marker}\n`)
    if ((await readMarker(libDir)) !== marker) {
      await rm(libDir, { recursive: true, force: true })
      await rename(staging, libDir)
      log(`${jars.length} jars in ${libDir}`)
    }
    return { libDir, version }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function readMarker(libDir: string): Promise<string | undefined> {
  return readFile(join(libDir, MARKER), 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  )
}

async function runMaven(outputDir: string, mavenLog: string): Promise<void> {
  await mkdir(join(mavenLog, '..'), { recursive: true })
  const out = createWriteStream(mavenLog)
  const args = [
    '-B',
    '-f',
    s3PomPath(),
    'dependency:copy-dependencies',
    `-DoutputDirectory=${outputDir}`,
    '-DincludeScope=runtime',
  ]
  const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.pipe(out, { end: false })
  child.stderr.pipe(out, { end: false })
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', resolve)
    })
    if (code !== 0) {
      throw new StrataError(
        ErrorCodes.CLUSTER,
        `mvn exited with ${code} while resolving S3Proxy jars; see ${mavenLog}`,
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
    await new Promise((resolve) => out.end(resolve))
  }
}
