// The broker's jars, resolved by Maven from Maven Central (tools/kafka/pom.xml) and copied into
// `<state>/kafka/lib/kafka-<version>-<pom hash>/`. One folder per pom: a pom edit (a Kafka or
// log4j bump) makes a new folder instead of replacing the jars under a broker that still runs
// from the old one (a JVM opens its classpath jars lazily). The copy itself: maven-jars.ts.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { copyMavenJars } from './maven-jars.ts'
import { defaultLibDir, kafkaHome, pomPath, stateHome } from './paths.ts'

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
  await copyMavenJars({
    pom: pomPath(),
    libDir,
    marker,
    mavenLog: join(kafkaHome(home), 'maven.log'),
    what: `Apache Kafka ${version}`,
    mainJar: {
      matches: (name) => name.startsWith(`kafka_2.13-${version}`),
      name: `kafka_2.13-${version} jar`,
    },
    log: options.log,
  })
  return { libDir, version }
}
