// Shared by the Spark engine's tests: a real local Spark standalone cluster (src/spark-cluster/) in
// a temp folder, a master and two one-core workers, stopped after the test file. Its ports are
// 12 in a row from STRATA_TEST_SPARK_PORT, else from a free run of ports picked here: the
// cluster's six (master, its UI, two workers and their UIs) and the driver's from +6. Its JVMs
// start with TEST_JAVA_OPTIONS (below) unless JAVA_TOOL_OPTIONS is set already.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isPortFree } from '../../src/kafka-cluster/index.ts'
import {
  type StartedSparkCluster,
  startSparkCluster,
  stopSparkCluster,
} from '../../src/spark-cluster/index.ts'

export interface TestSpark {
  cluster: StartedSparkCluster
  dir: string
  /** The driver's first port (spark-engine.ts, SparkEngineOptions.basePort). */
  driverPort: number
  stop(): Promise<void>
}

const SPAN = 30

async function freeRun(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    let free = true
    for (let p = base; p < base + SPAN && free; p++) free = await isPortFree('127.0.0.1', p)
    if (free) return base
  }
  throw new Error(`no run of ${SPAN} free ports found`)
}

/**
 * JVM flags for every JVM of a test's Spark (master, workers, executors, drivers; all inherit
 * this process's environment): the C1 compiler only and the serial collector. A test's JVMs live
 * seconds on tiny jobs, where C2's compiling and G1's threads are most of their CPU; on two cores
 * this about halves a JVM's start (`SparkSubmit --version`: 2.4 → 1.0 s of CPU). What Spark does
 * is the same; only how fast its bytecode is compiled differs. Set before the cluster starts.
 */
export const TEST_JAVA_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'

export async function startTestSpark(workers = 2): Promise<TestSpark> {
  process.env['JAVA_TOOL_OPTIONS'] ??= TEST_JAVA_OPTIONS
  const given = process.env['STRATA_TEST_SPARK_PORT']
  const port = given ? Number(given) : await freeRun()
  const dir = await mkdtemp(join(tmpdir(), 'strata-spark-'))
  const cluster = await startSparkCluster({ port, workers, dir, cores: 1, memory: '1g' })
  return {
    cluster,
    dir,
    driverPort: port + 2 + 2 * workers,
    async stop() {
      await stopSparkCluster({ port, dir, workers })
      await rm(dir, { recursive: true, force: true })
    },
  }
}
