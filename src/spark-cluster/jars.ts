// Spark's jars, resolved by Maven from Maven Central (tools/spark/pom.xml) into
// `<state>/spark/lib/spark-<version>-<pom hash>/`, once (kafka-cluster/maven-jars.ts), and the small
// SPARK_HOME the standalone Worker needs to launch executors.
import { createHash } from 'node:crypto'
import { mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { copyMavenJars, stateHome } from '../kafka-cluster/index.ts'
import { sparkHome, sparkPomPath } from './paths.ts'

export interface SparkJars {
  libDir: string
  /** A SPARK_HOME: RELEASE and jars/ -> libDir. */
  home: string
  version: string
}

async function pomIdentity(): Promise<{ version: string; hash: string }> {
  const text = await readFile(sparkPomPath())
  const match = /<spark\.version>([^<]+)<\/spark\.version>/.exec(text.toString('utf8'))
  if (!match) throw new StrataError(ErrorCodes.CLUSTER, `${sparkPomPath()} has no <spark.version> property`)
  return { version: match[1]!.trim(), hash: createHash('sha256').update(text).digest('hex').slice(0, 12) }
}

/** The jars for the current pom (copied once, reused while the marker matches) and a SPARK_HOME. */
export async function ensureSparkJars(
  options: { home?: string; log?: (line: string) => void } = {},
): Promise<SparkJars> {
  const state = options.home ?? stateHome()
  const { version, hash } = await pomIdentity()
  const libDir = join(sparkHome(state), 'lib', `spark-${version}-${hash}`)
  await copyMavenJars({
    pom: sparkPomPath(),
    libDir,
    marker: `spark ${version} pom ${hash}`,
    mavenLog: join(sparkHome(state), 'maven.log'),
    what: `Apache Spark ${version}`,
    mainJar: {
      matches: (name) => /^spark-core_2\.13-.*\.jar$/.test(name),
      name: `spark-core_2.13-${version}.jar`,
    },
    log: options.log,
  })
  // The launcher (AbstractCommandBuilder) finds the jars under $SPARK_HOME/jars and takes a
  // RELEASE file there as the sign of a built distribution.
  const home = join(sparkHome(state), `home-${version}-${hash}`)
  await mkdir(home, { recursive: true })
  await writeFile(join(home, 'RELEASE'), `Spark ${version} (jars from Maven Central, ${libDir})\n`)
  const link = join(home, 'jars')
  if ((await readlink(link).catch(() => undefined)) !== libDir) {
    await rm(link, { recursive: true, force: true })
    await symlink(libDir, link)
  }
  return { libDir, home, version }
}
