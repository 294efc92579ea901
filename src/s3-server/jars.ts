// S3Proxy's jars, resolved by Maven from Maven Central (tools/s3proxy/pom.xml) into
// `<state>/s3/lib/s3proxy-<version>-<pom hash>/`, once: the same scheme and the same copy as
// Kafka's jars (kafka-cluster/maven-jars.ts).
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { copyMavenJars, stateHome } from '../kafka-cluster/index.ts'
import { s3Home, s3PomPath } from './paths.ts'

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
  await copyMavenJars({
    pom: s3PomPath(),
    libDir,
    marker: `s3proxy ${version} pom ${hash}`,
    mavenLog: join(s3Home(home), 'maven.log'),
    what: `S3Proxy ${version}`,
    mainJar: { matches: (name) => name === `s3proxy-${version}.jar`, name: `s3proxy-${version}.jar` },
    log: options.log,
  })
  return { libDir, version }
}
