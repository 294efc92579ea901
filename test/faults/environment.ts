// One environment per run of the fault suite: a three-node Kafka cluster (KRaft, RF 3,
// min.insync.replicas=2) in a scratch home on ports of its own, a scratch PostgreSQL, and the
// Strata roles as separate processes sharing that store and one master dataset folder — two
// speed workers, the archiver, a batch worker on a short interval, and the serving process.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ensureKafkaJars,
  killNode,
  type NodeSpec,
  restartNode,
  startCluster,
  stopCluster,
} from '../../src/kafka-cluster/index.ts'
import { createAdmin, type KafkaAdmin } from '../../src/log/kafka/index.ts'
import { FAULTS_PARTITIONS, FAULTS_TOPIC } from './faults.config.ts'
import { Fleet } from './fleet.ts'
import { type ScratchPostgres, startScratchPostgres } from './postgres.ts'

export const configPath = fileURLToPath(new URL('./faults.config.ts', import.meta.url))

export interface Ports {
  /** Client and controller port of each of the three nodes. */
  kafka: Array<{ client: number; controller: number }>
  postgres: number
  serve: number
}

/** The suite's own ports (never the shared 9092, the failover test's 19092.. nor the SASL 92xx). */
export const defaultPorts: Ports = {
  kafka: [1, 2, 3].map((n) => ({ client: n * 10000 + 8192, controller: n * 10000 + 8193 })),
  postgres: 55432,
  serve: 18180,
}

export interface Environment {
  dir: string
  brokers: string
  topic: string
  partitions: number
  serveUrl: string
  fleet: Fleet
  postgres: ScratchPostgres
  /** Runs `ask` on a fresh admin client, 30 s at most per attempt, up to 5 attempts. */
  askKafka<T>(ask: (admin: KafkaAdmin) => Promise<T>): Promise<T>
  /** Arguments of a one-off `strata batch` on this deployment. */
  batchArgs: string[]
  killBroker(nodeId: number): Promise<number>
  restartBroker(nodeId: number): Promise<void>
  close(): Promise<void>
}

export async function startEnvironment(
  ports: Ports,
  log: (line: string) => void,
  keep = false,
): Promise<Environment> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-faults-'))
  const home = join(dir, 'home')
  const logDir = join(dir, 'logs')
  await mkdir(logDir, { recursive: true })
  const members: NodeSpec[] = ports.kafka.map((p, i) => ({
    id: i + 1,
    host: '127.0.0.1',
    clientPort: p.client,
    controllerPort: p.controller,
  }))
  // The main jar folder: a second Maven copy would prove nothing new.
  const { libDir } = await ensureKafkaJars()
  const cleanups: Array<() => Promise<unknown>> = []
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => log(`cleanup: ${e}`))
    if (!keep) await rm(dir, { recursive: true, force: true })
  }
  try {
    log(`environment in ${dir}`)
    const postgres = await startScratchPostgres(ports.postgres)
    cleanups.push(() => postgres.destroy())
    cleanups.push(() => stopCluster({ nodes: 3, home }))
    const cluster = await startCluster({ nodes: 3, home, libDir, members, fresh: true, heap: '384m' })
    const brokers = cluster.bootstrap
    const askKafka = <T>(ask: (admin: KafkaAdmin) => Promise<T>) => askWithRetries(brokers, ask)
    await askKafka((admin) =>
      admin.createTopic({ topic: FAULTS_TOPIC, partitions: FAULTS_PARTITIONS, replicationFactor: 3 }),
    )
    const common = [
      '--config',
      configPath,
      '--brokers',
      brokers,
      '--store',
      `${postgres.url}?schema=strata_faults`,
      '--data',
      join(dir, 'data'),
    ]
    const fleet = new Fleet(logDir)
    cleanups.push(() => fleet.close())
    // A member killed -9 keeps its partitions until its session times out (default 30 s): 10 s
    // here, so a schedule does not spend most of its time waiting for it (heartbeats every 3 s).
    const group = ['--session-timeout', '10s']
    fleet.add('speed-0', ['worker', 'speed', ...common, ...group])
    fleet.add('speed-1', ['worker', 'speed', ...common, ...group])
    fleet.add('archiver', ['worker', 'archiver', ...common, ...group, '--segment-age', '1s'])
    fleet.add('batch-worker', ['worker', 'batch', ...common, '--batch-interval', '3s'])
    fleet.add('serve', ['worker', 'serve', ...common, '--port', String(ports.serve)])
    // The serving process first: it creates the store's schema, which the others then share.
    fleet.start('serve')
    const serveUrl = `http://127.0.0.1:${ports.serve}`
    const health = async () => (await fetch(`${serveUrl}/health`).catch(() => undefined))?.ok === true
    if (!(await waitUntil(health, 60_000)))
      throw new Error(`the serving process did not answer: ${logDir}/serve.log`)
    fleet.heal()
    const nodeOptions = { home, libDir, heap: '384m' }
    return {
      dir,
      brokers,
      topic: FAULTS_TOPIC,
      partitions: FAULTS_PARTITIONS,
      serveUrl,
      fleet,
      postgres,
      askKafka,
      batchArgs: ['batch', ...common, '--threads', '1'],
      killBroker: (nodeId) => killNode(3, nodeId, 'SIGKILL', nodeOptions),
      restartBroker: async (nodeId) => {
        await restartNode(3, nodeId, nodeOptions)
      },
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

// A fresh client per question: one long-lived admin client is one more thing a broker kill could
// wedge, and the harness must never be the part that hangs.
async function askWithRetries<T>(brokers: string, ask: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const admin = createAdmin({ brokers })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer from Kafka within 30 s')), 30_000)
    })
    try {
      return await Promise.race([ask(admin), timeout])
    } catch (error) {
      if (attempt >= 5) throw error
      await new Promise((resolve) => setTimeout(resolve, 1000))
    } finally {
      clearTimeout(timer)
      admin.close().catch(() => {})
    }
  }
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return false
}
