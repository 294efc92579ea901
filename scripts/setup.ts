// Installs what the tests and the local Kafka cluster need beyond npm packages, on a fresh
// machine: Debian's kcat and python3-kafka (interop tests with the clients people already use)
// the Apache Kafka, S3Proxy and Apache Spark jars from Maven Central, and the Spark batch engine's
// driver jar (built from tools/spark-driver/ by Maven). Idempotent: does nothing when all are present.
// The first resolve of Spark's jars (134 jars; none of Spark's in ~/.m2 yet, Kafka's and S3Proxy's
// already there) took 18 s here; the driver's first build 9-23 s (Maven's compiler plugin).
import { spawnSync } from 'node:child_process'
import { ensureDriverJar } from '../src/batch/spark/driver-jar.ts'
import { ensureKafkaJars } from '../src/kafka-cluster/index.ts'
import { ensureS3ProxyJars } from '../src/s3-server/index.ts'
import { ensureSparkJars } from '../src/spark-cluster/index.ts'

// Debian package → a command that succeeds when it is installed.
const debianPackages: Record<string, string[]> = {
  kcat: ['kcat', '-V'],
  'python3-kafka': ['/usr/bin/python3', '-c', 'import kafka'],
  // The dashboard's end-to-end test drives Debian's chromium (playwright-core, no browser download).
  chromium: ['/usr/bin/chromium', '--version'],
}

function works(command: string[]): boolean {
  const result = spawnSync(command[0], command.slice(1), { stdio: 'ignore' })
  return result.status === 0
}

export async function setup(): Promise<void> {
  const missing = Object.entries(debianPackages)
    .filter(([, check]) => !works(check))
    .map(([name]) => name)
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `missing Debian packages: ${missing.join(', ')}; run: sudo apt-get install -y ${missing.join(' ')}`,
      )
    }
    console.log(`setup: installing ${missing.join(', ')} with apt-get`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    if (update.status !== 0) throw new Error('apt-get update failed')
    const install = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env })
    if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`)
  }
  const { version, libDir } = await ensureKafkaJars({ log: (line: string) => console.log(`setup: ${line}`) })
  console.log(`setup: Apache Kafka ${version} jars in ${libDir}`)
  const s3 = await ensureS3ProxyJars({ log: (line: string) => console.log(`setup: ${line}`) })
  console.log(`setup: S3Proxy ${s3.version} jars in ${s3.libDir}`)
  const spark = await ensureSparkJars({ log: (line: string) => console.log(`setup: ${line}`) })
  console.log(`setup: Apache Spark ${spark.version} jars in ${spark.libDir}`)
  const driver = await ensureDriverJar({ log: (line: string) => console.log(`setup: ${line}`) })
  console.log(`setup: the Spark batch driver in ${driver}`)
}

if (import.meta.main) {
  await setup()
}
