// The Spark batch engine's driver jar, built from tools/spark-driver/ by Maven once per source
// (pom and Java files hashed): `<state>/spark/driver/<hash>/strata-spark-driver.jar`. Maven builds
// into a staging folder that is renamed into place, so an interrupted build never leaves a jar
// that looks usable.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { access, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { stateHome } from '../../kafka-cluster/index.ts'
import { driverPomPath, sparkHome } from '../../spark-cluster/index.ts'

const JAR = 'strata-spark-driver.jar'

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await filesUnder(path)))
    else out.push(path)
  }
  return out.sort()
}

async function sourceHash(): Promise<string> {
  const root = dirname(driverPomPath())
  const hash = createHash('sha256')
  for (const file of [driverPomPath(), ...(await filesUnder(join(root, 'src')))]) {
    hash
      .update(file.slice(root.length))
      .update('\0')
      .update(await readFile(file))
      .update('\0')
  }
  return hash.digest('hex').slice(0, 12)
}

/** The path of the driver jar of the current sources, built if missing. */
export async function ensureDriverJar(options: { home?: string; log?: (line: string) => void } = {}) {
  const home = sparkHome(options.home ?? stateHome())
  const dir = join(home, 'driver', await sourceHash())
  const jar = join(dir, JAR)
  if (
    await access(jar).then(
      () => true,
      () => false,
    )
  )
    return jar
  const staging = `${dir}.partial-${process.pid}`
  const mavenLog = join(home, 'driver-maven.log')
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  try {
    options.log?.(`building the Spark driver (tools/spark-driver) with Maven (output in ${mavenLog})`)
    const args = [
      '-B',
      '-q',
      '-f',
      driverPomPath(),
      'package',
      '-Dmaven.test.skip=true',
      `-Ddriver.build.dir=${staging}`,
    ]
    const out = createWriteStream(mavenLog)
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.pipe(out)
    child.stderr.pipe(out)
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', resolve)
    }).catch((error: Error) => {
      throw new StrataError(
        ErrorCodes.SPARK,
        `cannot run mvn to build the Spark driver (is Maven installed?): ${error.message}`,
      )
    })
    if (code !== 0)
      throw new StrataError(
        ErrorCodes.SPARK,
        `mvn exited with ${code} building the Spark driver; see ${mavenLog}`,
      )
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    await rename(join(staging, JAR), jar)
    return jar
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
